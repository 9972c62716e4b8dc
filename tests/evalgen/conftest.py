"""Fixtures for eval generation over stored eval sets: a rated set in the database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from forge import auth
from forge.store import ratings as rating_store
from forge.store import traces as trace_store
from tests.evals.handmade import placeholder_set


def unified(t: dict) -> dict:
    """A hand-made trace in the full unified shape (file source)."""
    return {
        "id": t["id"],
        "name": "reply",
        "timestamp": "2026-01-01T00:00:00Z",
        "input": t["input_text"],
        "output": t["output_text"],
        "input_text": t["input_text"],
        "output_text": t["output_text"],
        "steps": [],
        "metadata": {},
        "tags": [],
        "user_id": None,
        "session_id": None,
        "latency_ms": 100.0,
        "cost_usd": None,
        "source": "file",
        "source_id": t["id"],
    }


def store_rated_set(access, name: str, traces: list[dict], labels: list[bool], criterion: str, raters=("ana",)):
    """Traces stored and rated in a new eval set (one rating per rater); returns (eval set, forge ids by source id)."""
    out = trace_store.upsert_traces(access, [unified(t) for t in traces])
    ids = dict(zip([t["id"] for t in traces], out["ids"], strict=True))
    es = rating_store.get_or_create_eval_set(access, name, criterion)
    for rater in raters:
        rows = [
            {
                "trace_id": ids[t["id"]],
                "rater": rater,
                "value": "pass" if y else "fail",
                "note": None if y else "left a placeholder",
            }
            for t, y in zip(traces, labels, strict=True)
        ]
        rating_store.upsert_ratings(access, es["id"], rows)
    return es, ids


@pytest.fixture
def admin_access(db, admin, default_ws):
    return auth.access(db, admin, default_ws.id)


@pytest.fixture
def placeholder_es(admin_access):
    traces, labels = placeholder_set(60)
    es, ids = store_rated_set(
        admin_access, "No placeholders", traces, labels, "The reply never leaves placeholders like [name]"
    )
    return es, ids


def run_pytest(test_file: Path, cwd: Path) -> subprocess.CompletedProcess:
    """An exported pytest file run as a team's CI would: a fresh pytest process."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
