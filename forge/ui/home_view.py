"""The home page's table of eval sets: pass / fail / neutral counted within each set."""

from __future__ import annotations

import pandas as pd
import streamlit as st

EVAL_SET_COLUMNS = {
    "Criterion": st.column_config.TextColumn("Criterion", width="large"),
    "Pass": st.column_config.NumberColumn("Pass", format="localized", help="Traces rated pass in this set"),
    "Fail": st.column_config.NumberColumn("Fail", format="localized", help="Traces rated fail in this set"),
    "Neutral": st.column_config.NumberColumn("Neutral", format="localized"),
    "Ratings": st.column_config.NumberColumn("Ratings", format="localized", help="All ratings, every rater"),
}


def eval_set_table(counts: list[dict]) -> pd.DataFrame:
    """One row per eval set with its own pass, fail and neutral counts (``summary.eval_set_counts``)."""
    return pd.DataFrame(
        [
            {
                "Eval set": e["name"],
                "Criterion": e["criterion"] or "",
                "Pass": e["pass"],
                "Fail": e["fail"],
                "Neutral": e["neutral"],
                "Ratings": e["ratings"],
            }
            for e in counts
        ]
    )
