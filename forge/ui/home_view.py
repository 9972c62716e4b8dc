"""The home page's table of eval sets: pass / fail / neutral counted within each set."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from forge.store import traces as trace_store
from forge.store.access import Access

EVAL_SET_COLUMNS = {
    "Criterion": st.column_config.TextColumn("Criterion", width="large"),
    "Pass": st.column_config.NumberColumn("Pass", format="localized", help="Traces rated pass in this set"),
    "Fail": st.column_config.NumberColumn("Fail", format="localized", help="Traces rated fail in this set"),
    "Neutral": st.column_config.NumberColumn("Neutral", format="localized"),
    "Ratings": st.column_config.NumberColumn("Ratings", format="localized", help="All ratings, every rater"),
}


def _traces_rated(access: Access, eval_set_id: str, value: str) -> int:
    filters = trace_store.TraceFilters(rating=value, eval_set_id=eval_set_id)
    return trace_store.list_traces(access, filters, page_size=1).total


def eval_set_table(access: Access, eval_sets: list[dict]) -> pd.DataFrame:
    """One row per eval set with its own pass, fail and neutral counts."""
    return pd.DataFrame(
        [
            {
                "Eval set": e["name"],
                "Criterion": e["criterion"] or "",
                **{value.title(): _traces_rated(access, e["id"], value) for value in ("pass", "fail", "neutral")},
                "Ratings": e["ratings"],
            }
            for e in eval_sets
        ]
    )
