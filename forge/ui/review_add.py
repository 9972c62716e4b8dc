"""The traces page's "Add to eval set": put the current filter's traces, or picked rows, in a set's queue."""

from __future__ import annotations

import streamlit as st

from forge import auth
from forge.review import eval_sets
from forge.store import ratings as rating_store
from forge.store.access import Access
from forge.store.traces import TraceFilters
from forge.ui.format import fmt_count


def add_to_eval_set(access: Access, filters: TraceFilters, page_rows: dict[str, str], selected: list[str], total: int):
    """An expander: choose a set, then add every trace matching ``filters`` (``total`` of them) or the rows
    picked on this page (``page_rows`` id -> label; ``selected`` preselected). Needs ``rate``."""
    if not access.may("rate"):
        return
    sets = {s["id"]: s["name"] for s in rating_store.eval_set_overview(access)}
    with st.expander("Add to eval set", icon=":material/playlist_add:"):
        if not sets:
            st.caption("No eval set yet: create one on the Eval sets page.")
            st.page_link("pages/eval_sets.py", label="Go to Eval sets", icon=":material/checklist:")
            return
        target = st.selectbox("Eval set", list(sets), key="traces_add_set", format_func=sets.get)
        what = st.radio(
            "Traces",
            ["filter", "rows"],
            key="traces_add_what",
            horizontal=True,
            format_func=lambda w: f"All {fmt_count(total)} matching the filters" if w == "filter" else "Rows I pick",
        )
        picked = []
        if what == "rows":
            picked = st.multiselect(
                "Rows on this page",
                list(page_rows),
                default=[i for i in selected if i in page_rows],
                format_func=page_rows.get,
                key="traces_add_rows",
            )
        if st.button("Add to the set's queue", key="traces_add_go", disabled=what == "rows" and not picked):
            try:
                n = eval_sets.add_to_queue(
                    access, target, trace_ids=picked if what == "rows" else None, filters=filters
                )
            except (ValueError, auth.AuthError) as exc:
                st.error(str(exc))
            else:
                st.success(f"{fmt_count(n)} trace{'s' if n != 1 else ''} added to the queue of '{sets[target]}'.")
                st.page_link(
                    "pages/review.py", label="Rate them", icon=":material/thumbs_up_down:", query_params={"set": target}
                )
