"""Shared widgets that render a trace: input/output, the step tree, metadata, ratings and verdicts.

Used by the traces page and the review page. Takes the dict of
``forge.traces.query.trace_detail``; holds no queries of its own.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from forge.traces.query import StepNode, flatten, rating_label
from forge.ui.widgets import md

MAX_STEP_EXPANDERS = 150
_VERDICT = {True: "pass", False: "fail", None: "error"}


def _fmt_cost(value: float | None) -> str:
    return "—" if value is None else f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms" if value < 10_000 else f"{value / 1000:,.1f} s"


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


def traces_table(rows: list[dict]) -> pd.DataFrame:
    """The traces page's table: one row per trace, short previews, human units."""
    return pd.DataFrame(
        [
            {
                "Time": r["timestamp"],
                "Name": r["name"] or "—",
                "Input": r["input_preview"],
                "Output": r["output_preview"],
                "Source": r["source"],
                "User": r["user_id"] or "",
                "Models": ", ".join(r["models"] or []),
                "Tags": ", ".join(r["tags"] or []),
                "Steps": r["steps"],
                "Errors": "⚠️" if r["has_error"] else "",
                "Latency (ms)": r["latency_ms"],
                "Cost ($)": r["cost_usd"],
                "Ratings": rating_label(r),
            }
            for r in rows
        ]
    )


TABLE_COLUMNS = {
    "Time": st.column_config.DatetimeColumn("Time", format="YYYY-MM-DD HH:mm:ss"),
    "Input": st.column_config.TextColumn("Input", width="large"),
    "Output": st.column_config.TextColumn("Output", width="large"),
    "Latency (ms)": st.column_config.NumberColumn("Latency (ms)", format="%.0f"),
    "Cost ($)": st.column_config.NumberColumn("Cost ($)", format="%.4f"),
}


def steps_table(tree: list[StepNode]) -> pd.DataFrame:
    """The step tree as indented rows with type, model, tokens, cost, latency, level and status."""
    rows = []
    for n in flatten(tree):
        indent = "│ " * max(0, n.depth - 1) + ("└ " if n.depth else "")
        rows.append(
            {
                "Step": indent + str(n.get("name") or n.get("type") or n.get("id") or "step"),
                "Type": n.get("type") or "",
                "Model": n.get("model") or "",
                "Tokens": n.tokens,
                "Cost ($)": n.get("cost_usd"),
                "Latency (ms)": n.latency_ms,
                "Level": n.get("level") or "",
                "Status": n.get("status_message") or "",
            }
        )
    return pd.DataFrame(rows)


def _highlight_errors(row: pd.Series) -> list[str]:
    bad = str(row.get("Level", "")).upper() == "ERROR"
    return ["background-color: rgba(255, 75, 75, 0.18)" if bad else "" for _ in row]


def render_steps(tree: list[StepNode], key: str = "steps") -> None:
    """The step tree: an overview table (errors highlighted) and one expander per step."""
    nodes = flatten(tree)
    if not nodes:
        st.caption("This trace has no steps.")
        return
    errors = [n for n in nodes if n.is_error]
    if errors:
        st.error(
            f"{len(errors)} step{'s' if len(errors) != 1 else ''} failed: "
            + "; ".join(
                md(f"{n.get('name') or n.get('type')}: {n.get('status_message') or 'error'}") for n in errors[:3]
            )
        )
    frame = steps_table(tree)
    st.dataframe(
        frame.style.apply(_highlight_errors, axis=1),
        hide_index=True,
        width="stretch",
        column_config={
            "Cost ($)": st.column_config.NumberColumn(format="%.5f"),
            "Latency (ms)": st.column_config.NumberColumn(format="%.0f"),
        },
        key=f"{key}_table",
    )
    for n in nodes[:MAX_STEP_EXPANDERS]:
        prefix = "│ " * n.depth
        title = md(n.get("name") or n.get("type") or "step")
        facts = " · ".join(
            md(x)
            for x in (n.get("type"), n.get("model"), _fmt_ms(n.latency_ms) if n.latency_ms is not None else None)
            if x
        )
        label = f"{prefix}{'⚠️ :red[' + title + ']' if n.is_error else title}" + (f" — {facts}" if facts else "")
        with st.expander(label, expanded=n.is_error):
            if n.get("status_message"):
                (st.error if n.is_error else st.info)(md(n.get("status_message"), inline=False))
            cols = st.columns(4)
            cols[0].metric("Tokens", "—" if n.tokens is None else f"{n.tokens:,}")
            cols[1].metric("Cost", _fmt_cost(n.get("cost_usd")))
            cols[2].metric("Latency", _fmt_ms(n.latency_ms))
            cols[3].metric("Level", n.get("level") or "DEFAULT")
            if n.get("input") in (None, "", {}, []) and n.get("output") in (None, "", {}, []):
                st.caption("No input or output recorded for this step.")
                continue
            left, right = st.columns(2)
            with left:
                st.markdown("**Input**")
                show_value(n.get("input"), height=250)
            with right:
                st.markdown("**Output**")
                show_value(n.get("output"), height=250)
    if len(nodes) > MAX_STEP_EXPANDERS:
        st.caption(f"Showing the first {MAX_STEP_EXPANDERS} of {len(nodes)} steps in detail; the table lists all.")


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
                        "Rater": r["rater"],
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
    st.markdown("**Eval verdicts**")
    if verdicts:
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
    else:
        st.caption("No eval has run on this trace yet.")


def render_trace(detail: dict, key: str = "trace") -> None:
    """A whole trace: headline figures, then tabs for I/O, steps, metadata, ratings."""
    st.subheader(md(detail.get("name")) or "(unnamed trace)")
    st.caption(
        " · ".join(
            md(x)
            for x in (
                detail.get("timestamp"),
                detail.get("source"),
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
    cols[0].metric("Latency", _fmt_ms(detail.get("latency_ms")))
    cols[1].metric("Cost", _fmt_cost(detail.get("cost_usd")))
    cols[2].metric("Tokens", f"{tokens:,}" if tokens else "—")
    n_steps = len(flatten(detail.get("step_tree") or []))
    cols[3].metric("Steps", n_steps)
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
