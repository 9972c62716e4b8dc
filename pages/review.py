"""Review: rate an eval set's traces one at a time, keyboard first, saved at once."""

import streamlit as st

from forge.review import session as review
from forge.store import ratings as rating_store
from forge.store.traces import count_traces
from forge.ui import review_view, state
from forge.ui.widgets import md

access = state.guard("read")
may_rate = access.may("rate")
title, helper = st.columns([4, 1])
title.title("Review")
with helper:
    review_view.help_panel()

sets = {s["id"]: s for s in rating_store.eval_set_overview(access)}
if not sets:
    st.info("No eval set yet: create one (its criterion says what 'pass' means), then rate its traces here.")
    st.page_link("pages/eval_sets.py", label="Go to Eval sets", icon=":material/checklist:")
    st.stop()
if not count_traces(access):
    st.info("No traces to rate yet — import some first.")
    st.page_link("pages/import.py", label="Go to Import", icon=":material/upload:")
    st.stop()

wanted = st.query_params.get("set")
ids = list(sets)
left, right = st.columns([3, 2])
set_id = left.selectbox(
    "Eval set",
    ids,
    index=ids.index(wanted) if wanted in sets else 0,
    key="review_set",
    format_func=lambda i: sets[i]["name"],
)
order = right.selectbox("Queue order", list(review.ORDERS), key="review_order", format_func=review.ORDERS.get)
eval_set = rating_store.get_eval_set(access, set_id)
st.caption(
    f"**Criterion (v{eval_set['criterion_version']}):** {md(eval_set['criterion']) or 'not written yet'}"
    + (" · blind review" if eval_set["blind"] else "")
    + (f" · {eval_set['raters_per_trace']} raters per trace" if eval_set["raters_per_trace"] > 1 else "")
)
if not may_rate:
    st.info(f"Your role ({access.role}) can look at traces and ratings here but cannot rate.")

filters = review_view.queue_filters(access)
session = review_view.current_session(access, eval_set, order, filters)
review_view.message()
review_view.progress_panel(review.progress(access, session, eval_set))
review_view.rating_bar(access, session, may_rate)

trace_id = session.current
if trace_id is None:
    st.success(
        "Nothing left in this queue: every trace that matches has been rated (or skipped this session). "
        "Loosen the filters, add traces from the Traces page, or go back to change a rating."
    )
else:
    mine = rating_store.my_rating(access, eval_set["id"], trace_id)
    review_view.note_box(access, session, trace_id, mine, may_rate)
    review_view.trace_card(access, eval_set, trace_id, mine)
st.divider()
review_view.history(access, session, eval_set)
