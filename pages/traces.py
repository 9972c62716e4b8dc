"""Traces: filter and page through the workspace's traces, open one in full."""

import streamlit as st

from forge.traces import query
from forge.ui import review_add, state, trace_links, trace_view
from forge.ui.format import fmt_count
from forge.ui.trace_filters import sidebar_filters
from forge.ui.widgets import page_help, page_link_for, pager

access = state.guard("read")
st.title("Traces")
page_help(
    "Every trace of this workspace: filter in the sidebar (time, name, tags, source, app user, model,"
    " rating status), search text, metadata values or a trace/source id, sort, and page through."
    " Tick a row (or pick it in **Open trace**) to see the trace in full: input and output, the steps"
    " as a tree with a timeline, metadata, ratings and eval verdicts. The address (`?trace=<id>`) opens"
    " that trace directly: share it. ⤓ before a time: the source had none, it is the import time."
)

facets = query.facet_values(access)
if not facets["total"]:
    st.info("No traces yet — import some on the Import page or load the demo data on Home.")
    if not page_link_for(access.user, "pages/import.py", "Go to Import", ":material/upload:"):
        st.caption(f"Your role ({access.user.role}) cannot import: ask an analyst or an admin.")
    st.page_link("pages/home.py", label="Go to Home (demo data)", icon=":material/home:")
    st.stop()

filters = sidebar_filters(facets, prefix="traces", title="Filter traces")

left, mid, right = st.columns([2, 1, 1])
sort = left.segmented_control("Sort", list(query.SORTS), default="newest", key="traces_sort") or "newest"
page_size = mid.selectbox("Per page", query.PAGE_SIZES, index=1, key="traces_page_size")
# A new filter, sort or page size starts again at page 1.
signature = (filters, sort, page_size)
if st.session_state.get("traces_signature") != signature:
    st.session_state["traces_signature"] = signature
    st.session_state["traces_page"] = 1
page_no = st.session_state.setdefault("traces_page", 1)

result = query.list_traces(access, filters, page=page_no, page_size=page_size, sort=sort)
if result.total and page_no > result.pages:
    st.session_state["traces_page"] = result.pages
    st.rerun()

m1, m2, m3 = st.columns(3)
m1.metric("Matching traces", fmt_count(result.total))
m2.metric("In workspace", fmt_count(facets["total"]))
m3.metric("Page", f"{fmt_count(result.page)} / {fmt_count(result.pages)}")
if filters.active:
    st.caption(f"{filters.active} filter{'s' if filters.active != 1 else ''} active.")

ids = [r["id"] for r in result.rows]
open_id = trace_links.sync_view((signature, result.page), ids)
if not result.rows:
    st.info("No trace matches these filters — loosen them in the sidebar.")
else:
    event = st.dataframe(
        trace_view.traces_table(result.rows),
        key=trace_links.table_key(),
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        height=trace_view.table_height(len(result.rows)),
        column_config=trace_view.TABLE_COLUMNS,
    )
    open_id = trace_links.picked_row(event, ids, open_id)

    imputed = any(r["timestamp_imputed"] for r in result.rows)
    note = ". Select a row to open the trace; its address can be shared." + (
        f" {trace_view.IMPORTED_MARK} marks traces without a time of their own: shown at their import time."
        if imputed
        else ""
    )
    pager("traces", result.page, result.pages, result.page_size, len(result.rows), result.total, note)

labels = {r["id"]: f"{r['name'] or '(unnamed)'} · {str(r['timestamp'] or '')[:16]} · {r['id']}" for r in result.rows}
review_add.add_to_eval_set(access, filters, labels, [open_id] if open_id else [], result.total)
open_id = trace_links.open_picker(ids + ([open_id] if open_id and open_id not in ids else []), labels, open_id)

if open_id:
    detail = query.trace_detail(access, open_id)
    if detail is None:
        st.warning("This trace is not in this workspace (or no longer exists).")
    else:
        with trace_links.detail_box(open_id):  # brought into view below the page's table
            trace_view.render_trace(detail, key="traces_detail")
