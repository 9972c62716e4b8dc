"""Contradiction matrix: where each eval contradicts the humans, why, and what to do about it."""

import streamlit as st

from forge import matrix
from forge.store import ratings as rating_store
from forge.ui import matrix_view, state
from forge.ui.widgets import page_help

access = state.guard("read")
st.title("Contradiction matrix")
page_help(matrix_view.HELP)

sets = {s["id"]: s for s in rating_store.list_eval_sets(access)}
if not sets:
    st.info("No eval set yet — rate some traces first; the matrix compares evals with those ratings.")
    st.page_link("pages/eval_sets.py", label="Go to Eval sets", icon=":material/checklist:")
    st.stop()
query_set = st.query_params.get("eval_set")
if query_set in sets and "matrix_eval_set" not in st.session_state:
    st.session_state["matrix_eval_set"] = query_set
left, right = st.columns([3, 1])
eval_set_id = left.selectbox("Eval set", list(sets), format_func=lambda i: sets[i]["name"], key="matrix_eval_set")
all_versions = right.toggle("Older eval versions too", key="matrix_all_versions")
eval_set = sets[eval_set_id]
if eval_set.get("criterion"):
    st.caption(f"Criterion: {eval_set['criterion']}")

cols = matrix.columns(access, eval_set_id, all_versions=all_versions)
if not cols:
    st.info("This eval set has no evals yet — write, synthesise or generate some, then run them on its traces.")
    st.page_link("pages/home.py", label="Back to Home for the next step", icon=":material/home:")
    st.stop()

notice = st.session_state.pop("matrix_notice", None)
if notice:
    st.success(notice)

filters, shown = matrix_view.sidebar_filters(access, eval_set_id, cols)
# A key keeps the tabs (and the open one) when the notice above them comes or goes.
matrix_tab, stats_tab, export_tab = st.tabs(["Matrix", "Statistics", "Export"], key="matrix_tabs")
with matrix_tab:
    result = matrix_view.render_matrix(access, eval_set_id, shown, filters)
    matrix_view.render_drilldown(access, eval_set, result, shown)
with stats_tab:
    matrix_view.render_statistics(access, eval_set_id, [c for c in cols if c["current"]])
with export_tab:
    matrix_view.render_export(access, eval_set, shown)
