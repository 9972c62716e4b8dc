"""The trace filters of the sidebar, shared by the Traces page and the review queue: one set of widgets, one meaning."""

from __future__ import annotations

from collections.abc import Collection

import streamlit as st

from forge.traces import query

ALL_FIELDS = ("text", "days", "names", "tags", "sources", "users", "models", "rating", "eval_set")
MULTI_LABELS = {
    "names": "Name",
    "tags": "Tags (any of)",
    "sources": "Source",
    "users": "App user",
    "models": "Model (any step)",
}


def sidebar_filters(
    facets: dict, *, prefix: str, title: str, fields: Collection[str] = ALL_FIELDS
) -> query.TraceFilters:
    """The chosen ``fields`` as sidebar widgets (keys ``<prefix>_<field>``); the filters they make.

    Text and time come first, then the lists in the order of ``fields``, then the rating status."""
    sets = {s["id"]: s["name"] for s in facets.get("eval_sets", [])}
    chosen: dict = {}
    with st.sidebar:
        st.subheader(title)
        if "text" in fields:
            chosen["text"] = st.text_input(
                "Search traces",
                key=f"{prefix}_text",
                placeholder="e.g. refund",
                help="Finds the text in inputs, outputs and metadata values, or a trace by its id or source id.",
            )
        days = ()
        if "days" in fields:
            days = st.date_input(
                "Time range (UTC)",
                value=(),
                key=f"{prefix}_days",
                min_value=facets["first"].date() if facets.get("first") else None,
                max_value=facets["last"].date() if facets.get("last") else None,
            )
        for field in fields:  # in the order the page asks for
            if field in MULTI_LABELS:
                chosen[field] = st.multiselect(MULTI_LABELS[field], facets[field], key=f"{prefix}_{field}")
        if "rating" in fields:
            chosen["rating"] = st.selectbox(
                "Rating status",
                [None, *query.RATING_STATUSES],
                key=f"{prefix}_rating",
                format_func=lambda r: "any" if r is None else r,
            )
        if "eval_set" in fields:
            chosen["eval_set_id"] = st.selectbox(
                "…in eval set",
                [None, *sets],
                key=f"{prefix}_eval_set",
                format_func=lambda i: "any eval set" if i is None else sets[i],
                disabled=not sets,
            )
    start, end = query.day_range(*(list(days) + [None, None])[:2]) if days else (None, None)
    chosen["text"] = chosen.get("text") or None
    return query.TraceFilters(start=start, end=end, **chosen)
