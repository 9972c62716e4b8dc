"""Fixtures for stored eval runs: a workspace with traces, an eval set with ratings, and evals."""

from __future__ import annotations

import pytest

from forge import auth
from forge.store import evals as eval_store
from forge.store import ratings as rating_store
from forge.store.traces import upsert_traces

# Passes when the answer cites a source: "[n]" in the output.
CITES = """
import re


def evaluate(trace):
    found = re.search(r"\\[\\d+\\]", trace["output_text"])
    return bool(found), "cites a source" if found else "no citation"
"""
LONG_ENOUGH = """
def evaluate(trace):
    return len(trace["output_text"]) >= 30
"""
RAISES = """
def evaluate(trace):
    return trace["metadata"]["missing"]
"""


def make_traces(n: int, prefix: str = "t") -> list[dict]:
    """``n`` traces; every even one cites a source, every third one is short."""
    out = []
    for i in range(n):
        text = "short" if i % 3 == 0 else f"The answer is {i}, according to the report"
        if i % 2 == 0:
            text += " [1]"
        out.append(
            {
                "source_id": f"{prefix}{i:05d}",
                "input": f"question {i}",
                "output": text,
                "input_text": f"question {i}",
                "output_text": text,
                "metadata": {"i": i},
            }
        )
    return out


def seed_workspace(access, n_traces: int = 40, n_rated: int = 20, prefix: str = "t") -> dict:
    """Traces, an eval set rating the first ``n_rated`` (pass where they cite), and three evals."""
    ids = upsert_traces(access, make_traces(n_traces, prefix))["ids"]
    es = rating_store.get_or_create_eval_set(access, "Cited answers", "answers cite a source")
    rows = [
        {"trace_id": tid, "rater": access.user.username, "value": "pass" if i % 2 == 0 else "fail", "note": None}
        for i, tid in enumerate(ids[:n_rated])
    ]
    rating_store.upsert_ratings(access, es["id"], rows)
    cites = eval_store.create_eval(access, es["id"], "cites", CITES, origin="manual")
    long_enough = eval_store.create_eval(access, es["id"], "long enough", LONG_ENOUGH, origin="llm")
    eval_store.set_status(access, long_enough.id, "kept")
    raises = eval_store.create_eval(access, es["id"], "raises", RAISES, origin="synth")  # a candidate: not current
    return {"ids": ids, "eval_set": es, "cites": cites, "long_enough": long_enough, "raises": raises}


@pytest.fixture
def access(db, admin, default_ws):
    return auth.access(db, admin, default_ws.id, "edit")


@pytest.fixture
def seeded(access):
    return seed_workspace(access)
