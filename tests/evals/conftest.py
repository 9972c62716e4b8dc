"""Shared data for the eval synthesis tests."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED_DATA


@pytest.fixture(scope="session")
def halueval() -> tuple[list[dict], list[bool]]:
    """HaluEval's general set as unified-ish traces and labels (True = good answer = pass)."""
    path = SHARED_DATA / "halueval_general.jsonl"
    if not path.exists():
        pytest.skip(f"{path} not found")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    traces = [{"id": r["id"], "input_text": r["input"], "output_text": r["output"], "steps": []} for r in rows]
    return traces, [r["human_label"] == 1 for r in rows]
