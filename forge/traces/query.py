"""The traces page's reading logic: filtered pages, filter choices, one trace in full, the step tree.

The queries live in ``forge.store`` (``traces.list_traces``, ``traces.facet_values``,
``ratings.ratings_for_trace``, ``evals.verdicts_for_trace``); this module puts their
answers together for the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from typing import Any

from forge.store import evals as eval_store
from forge.store import ratings as rating_store
from forge.store import traces as trace_store
from forge.store import users as user_store
from forge.store.access import Access
from forge.store.traces import (
    PAGE_SIZES,
    PREVIEW_CHARS,
    RATING_STATUSES,
    SORTS,
    TraceFilters,
    TracePage,
    facet_values,
    list_traces,
)
from forge.store.values import TraceFieldError, parse_time

__all__ = [
    "PAGE_SIZES",
    "PREVIEW_CHARS",
    "RATING_STATUSES",
    "SORTS",
    "StepNode",
    "TraceFilters",
    "TracePage",
    "day_range",
    "facet_values",
    "flatten",
    "list_traces",
    "rating_label",
    "step_tree",
    "trace_detail",
]


def day_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole days from ``first`` to ``last`` inclusive, as [start, end) datetimes (UTC)."""
    start = datetime.combine(first, dt_time.min) if first else None
    end = datetime.combine(last, dt_time.min) + timedelta(days=1) if last else None
    return start, end


def rating_label(row: dict) -> str:
    """A short human summary of a row's ratings: '👍 2 · 👎 1', or '' when unrated."""
    parts = [
        f"{icon} {row.get(key, 0)}"
        for icon, key in (("👍", "passes"), ("👎", "fails"), ("😐", "neutrals"))
        if row.get(key)
    ]
    return " · ".join(parts)


def trace_detail(access: Access, trace_id: str) -> dict | None:
    """The trace with parsed JSON, its step tree, its ratings and its eval verdicts; None if not here."""
    trace = trace_store.get_trace(access, trace_id)
    if trace is None:
        return None
    trace["step_tree"] = step_tree(trace["steps"])
    trace["ratings"] = rating_store.ratings_for_trace(access, trace_id, order="eval_set")
    removed = user_store.removed_raters(access.db, [r["rater"] for r in trace["ratings"]])
    for r in trace["ratings"]:  # a removed user's ratings stay theirs, and say so
        r["rater_label"] = f"{r['rater']} (removed)" if r["rater"] in removed else r["rater"]
    trace["verdicts"] = eval_store.verdicts_for_trace(access, trace_id)
    return trace


# ---------------------------------------------------------------- step tree


@dataclass
class StepNode:
    """One step with its children, ordered by start time."""

    step: dict
    depth: int = 0
    children: list[StepNode] = field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        return self.step.get(key, default)

    @property
    def is_error(self) -> bool:
        return str(self.step.get("level") or "").upper() == "ERROR"

    @property
    def latency_ms(self) -> float | None:
        start, end = _when(self.step.get("start_time")), _when(self.step.get("end_time"))
        if start is None or end is None:
            return None
        return max(0.0, (end - start).total_seconds() * 1000)

    @property
    def tokens(self) -> int | None:
        ins, outs = self.step.get("input_tokens"), self.step.get("output_tokens")
        if ins is None and outs is None:
            return None
        return int(ins or 0) + int(outs or 0)


def _when(value: Any) -> datetime | None:
    """A step's time as naive UTC, or None when missing or unreadable (the tree still shows the step)."""
    try:
        return parse_time(value, "start_time")
    except TraceFieldError:
        return None


def step_tree(steps: list[dict]) -> list[StepNode]:
    """Roots of the step forest built from ``parent_id`` links.

    A step whose parent is missing (or that sits in a cycle) becomes a root,
    so every step is shown exactly once.
    """
    steps = [s for s in (steps or []) if isinstance(s, dict)]
    nodes = [StepNode(s) for s in steps]
    by_id: dict[str, StepNode] = {}
    for n in nodes:
        if n.get("id") is not None:
            by_id.setdefault(str(n.get("id")), n)
    roots: list[StepNode] = []
    for n in nodes:
        parent = by_id.get(str(n.get("parent_id"))) if n.get("parent_id") is not None else None
        if parent is None or parent is n or _is_ancestor(n, parent, by_id):
            roots.append(n)
        else:
            parent.children.append(n)

    def order(children: list[StepNode], depth: int) -> None:
        children.sort(key=lambda c: (_when(c.get("start_time")) is None, _when(c.get("start_time")) or datetime.min))
        for c in children:
            c.depth = depth
            order(c.children, depth + 1)

    order(roots, 0)
    return roots


def _is_ancestor(node: StepNode, candidate: StepNode, by_id: dict[str, StepNode]) -> bool:
    """True when ``node`` is already above ``candidate`` through parent links (a cycle)."""
    seen, cur = set(), candidate
    while cur is not None and id(cur) not in seen:
        if cur is node:
            return True
        seen.add(id(cur))
        pid = cur.get("parent_id")
        cur = by_id.get(str(pid)) if pid is not None else None
    return False


def flatten(tree: list[StepNode]) -> list[StepNode]:
    """The tree in display order (pre-order), each node with its depth."""
    out: list[StepNode] = []

    def walk(nodes: list[StepNode]) -> None:
        for n in nodes:
            out.append(n)
            walk(n.children)

    walk(tree)
    return out
