"""Which trace is open on the Traces page: the ``?trace=<id>`` address, the ticked row, the picker.

The address is the truth, so a link opens the trace directly and a selection can be shared.
The table's selection lives under a key that changes with the rows shown: after a new
search, sort or page no row stays ticked while no trace is open.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from forge.ui.widgets import scroll_into_view

PARAM = "trace"  # ?trace=<trace id>
_GEN = "traces_table_gen"  # bumped to give the table a fresh (empty) selection
_VIEW = "traces_view"  # the (filters, sort, page size, page) the table shows
_LAST_PICK = "traces_last_pick"  # the rows ticked at the previous run
OPEN = "traces_open"  # the "Open trace" picker


def url_trace() -> str | None:
    """The trace id in the address, if any."""
    return st.query_params.get(PARAM) or None


def set_open(trace_id: str | None) -> None:
    """Open ``trace_id`` (put it in the address), or close the open trace."""
    if trace_id:
        st.query_params[PARAM] = trace_id
    elif PARAM in st.query_params:
        del st.query_params[PARAM]


def _fresh_table() -> None:
    st.session_state[_GEN] = st.session_state.get(_GEN, 0) + 1
    st.session_state[_LAST_PICK] = []


def table_key() -> str:
    """The traces table's widget key (a new one clears its selection)."""
    return f"traces_table_{st.session_state.get(_GEN, 0)}"


def sync_view(view: Any, ids: list[str]) -> str | None:
    """The open trace after this run's filters; a changed view clears the ticks and a trace not in it.

    On the first view of the session a trace from the address stays open wherever it is:
    that is a shared link.
    """
    open_id = url_trace()
    if st.session_state.get(_VIEW) != view:
        first_view = _VIEW not in st.session_state
        st.session_state[_VIEW] = view
        _fresh_table()
        if not first_view and open_id not in ids:
            set_open(None)
            open_id = None
    return open_id


def picked_row(event: Any, ids: list[str], open_id: str | None) -> str | None:
    """The open trace after the table's selection: a newly ticked row opens, unticking closes."""
    picked = list(event.selection.rows) if event is not None and event.selection else []
    if picked == st.session_state.get(_LAST_PICK, []):
        return open_id
    st.session_state[_LAST_PICK] = picked
    new = ids[picked[0]] if picked and picked[0] < len(ids) else None
    set_open(new)
    return new


def _picked_in_box() -> None:
    set_open(st.session_state.get(OPEN))
    _fresh_table()  # the ticked row no longer says which trace is open


def open_picker(options: list[str], labels: dict[str, str], open_id: str | None) -> str | None:
    """The "Open trace" box, kept in step with the address; returns the open trace id."""
    st.session_state[OPEN] = open_id if open_id in options else None
    # An unknown value must raise in format_func (AppTest tells a label from an id that way).
    labels = {**{o: f"trace {o}" for o in options}, **labels}
    return st.selectbox(
        "Open trace",
        [None, *options],
        key=OPEN,
        format_func=lambda i: "— select a row above —" if i is None else labels[i],
        on_change=_picked_in_box,
    )


DETAIL_KEY = "traces_detail_box"
_SHOWN = "traces_shown"  # the trace whose detail was last brought into view


def detail_box(open_id: str):
    """The open trace's container; scrolled into view when a different trace opens (not on every rerun)."""
    box = st.container(border=True, key=DETAIL_KEY)
    if st.session_state.get(_SHOWN) != open_id:
        st.session_state[_SHOWN] = open_id
        with box:
            scroll_into_view(DETAIL_KEY)
    return box
