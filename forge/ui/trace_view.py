"""Shared widgets that render a trace: input/output, the step tree, metadata, ratings and verdicts.

Used by the traces page and the review page. Takes the dict of
``forge.traces.query.trace_detail``; holds no queries of its own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from forge.traces.query import StepNode, flatten, rating_label
from forge.ui.format import BLANK, fmt_cost, fmt_count, fmt_ms
from forge.ui.widgets import md

_VERDICT = {True: "pass", False: "fail", None: "error"}
# Langfuse's observation levels, coloured as a reader expects: noise grey, trouble amber and red.
LEVEL_COLOURS = {"DEBUG": "#9e9e9e", "DEFAULT": "#4c78a8", "WARNING": "#f59f00", "ERROR": "#e03131"}
ROW_PX = 24  # one waterfall row
LABEL_PX = 300  # the waterfall's step-name column


def show_value(value: Any, *, height: int | None = None) -> None:
    """JSON as a collapsible tree, text as text; an empty state for nothing."""
    if value is None or value == "" or value == {} or value == []:
        st.caption("(empty)")
    elif isinstance(value, (dict, list)):
        st.json(value, expanded=2)
    elif isinstance(value, str):
        st.code(value, language=None, wrap_lines=True, height=height)
    else:
        st.code(json.dumps(value, default=str), language="json", wrap_lines=True)


IMPORTED_MARK = "⤓"  # before a time that is the import time (the source had none)


def fmt_time(timestamp: Any, imputed: bool = False) -> str:
    """A trace's time to the minute; the import time marked as such."""
    if timestamp is None:
        return BLANK
    text = (timestamp.strftime("%Y-%m-%d %H:%M") if isinstance(timestamp, datetime) else str(timestamp)[:16]).replace(
        "T", " "
    )
    return f"{IMPORTED_MARK} {text}" if imputed else text


def traces_table(rows: list[dict]) -> pd.DataFrame:
    """The traces page's table: one row per trace, short previews, human units."""
    return pd.DataFrame(
        [
            {
                "Time": fmt_time(r["timestamp"], r.get("timestamp_imputed", False)),
                "Name": r["name"] or BLANK,
                "Input": r["input_preview"],
                "Output": r["output_preview"],
                "Latency": fmt_ms(r["latency_ms"]),
                "Cost": fmt_cost(r["cost_usd"]),
                "Rating": rating_label(r),
                "Errors": "⚠️" if r["has_error"] else "",
                "Steps": r["steps"],
                "Models": ", ".join(r["models"] or []),
                "Source": r["source"],
                "Source id": r.get("source_id") or "",
                "User": r["user_id"] or "",
                "Tags": ", ".join(r["tags"] or []),
            }
            for r in rows
        ]
    )


# Widths that fit the eight columns an analyst scans into a 1400 px window beside the sidebar;
# the rest (steps, models, source, user, tags) follow to the right.
TABLE_COLUMNS = {
    "Time": st.column_config.TextColumn(
        "Time", width=140, help=f"{IMPORTED_MARK}: the source had no time; this is when it was imported (UTC)"
    ),
    "Name": st.column_config.TextColumn("Name", width=110),
    "Input": st.column_config.TextColumn("Input", width=189),
    "Output": st.column_config.TextColumn("Output", width=189),
    "Latency": st.column_config.TextColumn("Latency", width=70),
    "Cost": st.column_config.TextColumn("Cost", width=72),
    "Rating": st.column_config.TextColumn("Rating", width=70),
    "Errors": st.column_config.TextColumn("Errors", width=50),
}


def table_height(n_rows: int, row_px: int = 35) -> int:
    """Pixels that show every row of a page (no scroll box inside the page)."""
    return (n_rows + 1) * row_px + 3


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def step_name(n: StepNode) -> str:
    """The step's own name, as imported (shown literally)."""
    return str(n.get("name") or n.get("type") or n.get("id") or "step")


def level_of(n: StepNode) -> str:
    return str(n.get("level") or "DEFAULT").upper()


def tree_label(n: StepNode) -> str:
    """The name indented by its depth in the tree, with a warning sign on errors."""
    indent = "│ " * max(0, n.depth - 1) + ("└ " if n.depth else "")
    return indent + ("⚠ " if n.is_error else "") + step_name(n)


def steps_table(nodes: list[StepNode]) -> pd.DataFrame:
    """The step tree as indented rows with type, model, tokens, cost, latency, level and status."""
    return pd.DataFrame(
        [
            {
                "Step": tree_label(n),
                "Type": n.get("type") or "",
                "Model": n.get("model") or "",
                "Tokens": fmt_count(n.tokens) if n.tokens is not None else "",
                "Cost": fmt_cost(n.get("cost_usd")) if n.get("cost_usd") is not None else "",
                "Latency": fmt_ms(n.latency_ms) if n.latency_ms is not None else "",
                "Level": level_of(n),
                "Status": n.get("status_message") or "",
            }
            for n in nodes
        ],
        columns=["Step", "Type", "Model", "Tokens", "Cost", "Latency", "Level", "Status"],
    )


def waterfall_frame(nodes: list[StepNode]) -> pd.DataFrame:
    """One row per timed step: start and end in ms after the trace's first step started."""
    starts = [t for t in (_time(n.get("start_time")) for n in nodes) if t]
    if not starts:
        return pd.DataFrame()
    origin = min(starts)
    rows, seen = [], {}
    for order, n in enumerate(nodes):
        start = _time(n.get("start_time"))
        if start is None:
            continue
        end = _time(n.get("end_time")) or start
        label = tree_label(n)
        # Vega groups rows by label: equal names get invisible zero-width spaces to stay apart.
        seen[label] = seen.get(label, -1) + 1
        rows.append(
            {
                "order": order,
                "step": label + "\u200b" * seen[label],
                "name": step_name(n),
                "type": n.get("type") or "",
                "level": level_of(n),
                "start_ms": (start - origin).total_seconds() * 1000,
                "end_ms": max((end - origin).total_seconds() * 1000, (start - origin).total_seconds() * 1000),
                "duration": fmt_ms(n.latency_ms),
                "status": n.get("status_message") or "",
            }
        )
    return pd.DataFrame(rows)


def waterfall_chart(frame: pd.DataFrame) -> alt.Chart:
    """A Gantt of the steps in tree order, coloured by level (like Langfuse's timeline)."""
    levels = [lv for lv in LEVEL_COLOURS if lv in set(frame["level"])] or list(LEVEL_COLOURS)
    # Zero-length steps still get a visible sliver.
    sliver = max(1.0, frame["end_ms"].max() / 400)
    frame = frame.assign(bar_end=frame["end_ms"].where(frame["end_ms"] > frame["start_ms"], frame["start_ms"] + sliver))
    return (
        alt.Chart(frame)
        .mark_bar(cornerRadius=2, height=ROW_PX - 8)
        .encode(
            x=alt.X("start_ms:Q", title="ms since the trace started"),
            x2="bar_end:Q",
            # Left-aligned labels keep the tree's indentation; every row keeps its label.
            y=alt.Y(
                "step:N",
                sort=list(frame["step"]),
                title=None,
                axis=alt.Axis(labelAlign="left", labelPadding=LABEL_PX, labelLimit=LABEL_PX - 10, labelOverlap=False),
            ),
            color=alt.Color(
                "level:N",
                scale=alt.Scale(domain=levels, range=[LEVEL_COLOURS[lv] for lv in levels]),
                legend=alt.Legend(title="Level", orient="top"),
            ),
            tooltip=[
                alt.Tooltip("name:N", title="Step"),
                alt.Tooltip("type:N", title="Type"),
                alt.Tooltip("level:N", title="Level"),
                alt.Tooltip("start_ms:Q", title="Starts at (ms)", format=",.0f"),
                alt.Tooltip("duration:N", title="Duration"),
                alt.Tooltip("status:N", title="Status"),
            ],
        )
        .properties(height=ROW_PX * len(frame) + 30)
    )


def _highlight_levels(row: pd.Series) -> list[str]:
    tint = {"ERROR": "rgba(224, 49, 49, 0.18)", "WARNING": "rgba(245, 159, 0, 0.18)", "DEBUG": "color: #8a8a8a"}
    style = tint.get(str(row.get("Level", "")), "")
    if style and not style.startswith("color"):
        style = f"background-color: {style}"
    return [style for _ in row]


def render_steps(tree: list[StepNode], key: str = "steps") -> None:
    """The step tree: a timeline (waterfall), the tree as a table, and one step in detail."""
    nodes = flatten(tree)
    if not nodes:
        st.caption("This trace has no steps.")
        return
    errors = [n for n in nodes if n.is_error]
    if errors:
        st.error(
            f"{len(errors)} step{'s' if len(errors) != 1 else ''} failed: "
            + "; ".join(md(f"{step_name(n)}: {n.get('status_message') or 'error'}") for n in errors[:3])
        )
    n_debug = sum(level_of(n) == "DEBUG" for n in nodes)
    if n_debug and st.toggle(f"Hide DEBUG steps ({n_debug})", key=f"{key}_hide_debug"):
        nodes = [n for n in nodes if level_of(n) != "DEBUG"]
    timeline = waterfall_frame(nodes)
    if len(timeline):
        st.altair_chart(waterfall_chart(timeline), width="stretch", key=f"{key}_waterfall")
    else:
        st.caption("No start and end times were recorded for these steps: no timeline.")
    st.dataframe(
        steps_table(nodes).style.apply(_highlight_levels, axis=1),
        hide_index=True,
        width="stretch",
        height=table_height(len(nodes)) if len(nodes) <= 40 else "auto",
        key=f"{key}_table",
    )
    if not nodes:
        return
    default = next((i for i, n in enumerate(nodes) if n.is_error), 0)
    picked = st.selectbox(
        "Step details",
        range(len(nodes)),
        index=default,
        format_func=lambda i: f"{tree_label(nodes[i])}  ·  {level_of(nodes[i])}",
        key=f"{key}_pick",
    )
    _render_step(nodes[picked if picked is not None and picked < len(nodes) else default])


def _render_step(n: StepNode) -> None:
    """One step: status message, figures, input and output."""
    with st.container(border=True):
        st.text(step_name(n))  # literally: names like __start__ are not markdown
        if n.get("status_message"):
            (st.error if n.is_error else st.info)(md(n.get("status_message"), inline=False))
        cols = st.columns(5)
        cols[0].metric("Tokens", fmt_count(n.tokens))
        cols[1].metric("Cost", fmt_cost(n.get("cost_usd")))
        cols[2].metric("Latency", fmt_ms(n.latency_ms))
        cols[3].metric("Level", level_of(n))
        cols[4].metric("Type", str(n.get("type") or BLANK))
        if n.get("model"):
            st.caption("Model: " + md(n.get("model")))
        if n.get("input") in (None, "", {}, []) and n.get("output") in (None, "", {}, []):
            st.caption("No input or output recorded for this step.")
            return
        left, right = st.columns(2)
        with left:
            st.markdown("**Input**")
            show_value(n.get("input"), height=250)
        with right:
            st.markdown("**Output**")
            show_value(n.get("output"), height=250)


def render_ratings(detail: dict) -> None:
    """Human ratings and eval verdicts of the trace."""
    ratings, verdicts = detail.get("ratings") or [], detail.get("verdicts") or []
    st.markdown("**Ratings**")
    if ratings:
        icon = {"pass": "👍 pass", "fail": "👎 fail", "neutral": "😐 neutral"}
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Eval set": r["eval_set"],
                        "Rater": r.get("rater_label") or r["rater"],
                        "Rating": icon.get(r["value"]),
                        "Note": r["note"] or "",
                        "When": r["updated_at"],
                    }
                    for r in ratings
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("Not rated yet.")
    render_verdicts(verdicts)


def render_verdicts(verdicts: list[dict]) -> None:
    """Every eval verdict on a trace (rows of ``store.evals.verdicts_for_trace``), or that none ran yet."""
    st.markdown("**Eval verdicts**")
    if not verdicts:
        st.caption("No eval has run on this trace yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Eval set": v["eval_set"],
                    "Eval": f"{v['eval']} v{v['version']}",
                    "Verdict": _VERDICT.get(v["verdict"]),
                    "Reason / error": v["error"] or v["reason"] or "",
                    "When": v["created_at"],
                }
                for v in verdicts
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def render_trace(detail: dict, key: str = "trace") -> None:
    """A whole trace: headline figures, then tabs for I/O, steps, metadata, ratings."""
    st.subheader(md(detail.get("name")) or "(unnamed trace)")
    st.caption(
        " · ".join(
            md(x)
            for x in (
                f"imported at {fmt_time(detail.get('timestamp'))} UTC (the source has no time)"
                if detail.get("timestamp_imputed")
                else detail.get("timestamp"),
                detail.get("source"),
                f"source id {detail['source_id']}" if detail.get("source_id") else None,
                f"user {detail['user_id']}" if detail.get("user_id") else None,
                f"session {detail['session_id']}" if detail.get("session_id") else None,
                f"id {detail['id']}",
            )
            if x
        )
    )
    if detail.get("tags"):
        st.markdown(" ".join(f":blue-badge[{md(t)}]" for t in detail["tags"]))
    tokens = (detail.get("input_tokens") or 0) + (detail.get("output_tokens") or 0)
    cols = st.columns(4)
    cols[0].metric("Latency", fmt_ms(detail.get("latency_ms")))
    cols[1].metric("Cost", fmt_cost(detail.get("cost_usd")))
    cols[2].metric("Tokens", fmt_count(tokens) if tokens else BLANK)
    n_steps = len(flatten(detail.get("step_tree") or []))
    cols[3].metric("Steps", fmt_count(n_steps))
    n_judged = len(detail.get("ratings") or []) + len(detail.get("verdicts") or [])
    io_tab, steps_tab, meta_tab, rating_tab = st.tabs(
        ["Input & output", f"Steps ({n_steps})", "Metadata", f"Ratings & verdicts ({n_judged})"]
    )
    with io_tab:
        left, right = st.columns(2)
        with left:
            st.markdown("**Input**")
            show_value(detail.get("input") if detail.get("input") is not None else detail.get("input_text"))
        with right:
            st.markdown("**Output**")
            show_value(detail.get("output") if detail.get("output") is not None else detail.get("output_text"))
    with steps_tab:
        render_steps(detail.get("step_tree") or [], key=f"{key}_steps")
    with meta_tab:
        show_value(detail.get("metadata"))
    with rating_tab:
        render_ratings(detail)
