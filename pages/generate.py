"""Generate evals: written by an LLM or synthesised; kept only when they agree with humans on held-out traces."""

import streamlit as st

from forge.review.ratings import list_eval_sets
from forge.store import evals as eval_store
from forge.ui import generate_view
from forge.ui.state import guard
from forge.ui.widgets import page_help, show_notice

access = guard("read")
st.title("Generate evals")
page_help(generate_view.HELP)
show_notice("gen_notice")

sets = list_eval_sets(access)
if not sets:
    st.info("No eval sets yet: rate some traces first (Import with ratings, or the Review page).")
    st.page_link("pages/eval_sets.py", label="Go to Eval sets", icon=":material/checklist:")
    st.page_link("pages/import.py", label="Import traces with ratings", icon=":material/upload:")
    st.stop()

# ?eval_set=<id>&eval=<eval_id>&refine=1 (the matrix page links here to refine one eval)
params = st.query_params
by_id = {s["id"]: s for s in sets}
wanted, wanted_eval = params.get("eval_set"), params.get("eval")
ids = list(by_id)
if wanted in by_id and st.session_state.get("gen_query") != (wanted, wanted_eval):
    st.session_state["gen_query"] = (wanted, wanted_eval)  # a link's choice wins once, then the pickers do
    st.session_state["gen_set"] = wanted
    if wanted_eval:
        st.session_state["gen_eval"] = wanted_eval
if st.session_state.get("gen_set") not in by_id:
    st.session_state["gen_set"] = ids[0]
es_id = st.selectbox(
    "Eval set",
    ids,
    format_func=lambda i: f"{by_id[i]['name']} ({by_id[i]['ratings']} ratings)",
    key="gen_set",
)
eval_set = by_id[es_id]
st.caption(f"Criterion: {eval_set.get('criterion') or '(none)'}")

generate_view.render_start(access, eval_set)
generate_view.render_jobs(access)

runs = eval_store.list_generations(access, es_id, limit=1)
if runs:
    generate_view.render_results(runs[0]["summary"])

rows = eval_store.evals_with_current(access, es_id)
if not rows:
    st.info("No evals in this set yet: generate or synthesise some above.")
    st.stop()

st.subheader("Evals")
generate_view.render_set_export(access, eval_set)
labels = {r["id"]: generate_view.eval_label(r) for r in rows}
eval_ids = list(labels)
if st.session_state.get("gen_eval") not in labels:
    st.session_state["gen_eval"] = eval_ids[0]
eval_id = st.selectbox(
    "Eval (kept first)",
    eval_ids,
    format_func=labels.get,
    key="gen_eval",
)
generate_view.render_eval(access, eval_set, eval_id, open_refine=params.get("refine") == "1" and eval_id == wanted_eval)
