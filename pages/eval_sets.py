"""Eval sets: create, rename, archive and tune sets; their criterion versions; human-human agreement."""

import streamlit as st

from forge.store import ratings as rating_store
from forge.ui import review_sets, state

access = state.guard("read")
st.title("Eval sets")
review_sets.help_panel()
review_sets.notice()
if access.may("edit"):
    review_sets.create_form(access)

show_archived = st.toggle("Show archived sets", key="eval_sets_show_archived")
rows = rating_store.eval_set_overview(access, include_archived=show_archived)
if not rows:
    st.info(
        "No eval set yet. Create one above (analysts and admins), or import a file with ratings using "
        "`forge import FILE --eval-set NAME`."
    )
    st.stop()
st.dataframe(review_sets.sets_table(rows), hide_index=True, width="stretch", key="eval_sets_table")

by_id = {r["id"]: r for r in rows}
wanted = st.query_params.get("set")
ids = list(by_id)
set_id = st.selectbox(
    "Open eval set",
    ids,
    index=ids.index(wanted) if wanted in by_id else 0,
    key="eval_sets_open",
    format_func=lambda i: by_id[i]["name"] + (" (archived)" if by_id[i]["archived"] else ""),
)
es = rating_store.get_eval_set(access, set_id)
st.page_link(
    "pages/review.py",
    label=f"Rate traces of '{es['name']}'",
    icon=":material/thumbs_up_down:",
    query_params={"set": es["id"]},
)
details, agreement = st.tabs(["Details", "Human-human agreement"])
with details:
    review_sets.settings(access, es)
with agreement:
    review_sets.agreement_panel(access, es)
