"""The home page's table of eval sets: pass / fail / neutral counted within each set."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from forge import auth
from forge.store import Database
from forge.traces import query

EVAL_SET_COLUMNS = {
    "Criterion": st.column_config.TextColumn("Criterion", width="large"),
    "Pass": st.column_config.NumberColumn("Pass", format="localized", help="Traces rated pass in this set"),
    "Fail": st.column_config.NumberColumn("Fail", format="localized", help="Traces rated fail in this set"),
    "Neutral": st.column_config.NumberColumn("Neutral", format="localized"),
    "Ratings": st.column_config.NumberColumn("Ratings", format="localized", help="All ratings, every rater"),
}


def _traces_rated(db: Database, user: auth.User, workspace_id: str, eval_set_id: str, value: str) -> int:
    filters = query.TraceFilters(rating=value, eval_set_id=eval_set_id)
    return query.list_traces(db, user, workspace_id, filters, page_size=1).total


def eval_set_table(db: Database, user: auth.User, workspace_id: str, eval_sets: list[dict]) -> pd.DataFrame:
    """One row per eval set with its own pass, fail and neutral counts."""
    return pd.DataFrame(
        [
            {
                "Eval set": e["name"],
                "Criterion": e["criterion"] or "",
                **{
                    value.title(): _traces_rated(db, user, workspace_id, e["id"], value)
                    for value in ("pass", "fail", "neutral")
                },
                "Ratings": e["ratings"],
            }
            for e in eval_sets
        ]
    )
