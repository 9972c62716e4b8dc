"""The shipped demo data: current with its generator, varied, about half rated."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

from forge import demo


def _traces() -> list[dict]:
    return [json.loads(line) for line in demo.DEMO_FILE.read_text(encoding="utf-8").splitlines()]


def test_demo_file_is_what_the_generator_writes():
    proc = subprocess.run(
        [sys.executable, str(demo.DEMO_FILE.parent / "make_demo.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_demo_traces_are_many_varied_and_about_half_rated_with_notes():
    traces = _traces()
    assert len(traces) >= 60
    assert len({t["id"] for t in traces}) == len(traces)
    rated = [t for t in traces if "rating" in t]
    assert abs(len(rated) - len(traces) / 2) <= 4
    verdicts = Counter(t["rating"] for t in rated)
    assert verdicts["pass"] >= 10 and verdicts["fail"] >= 10
    assert all(len(t["rating_note"]) > 20 for t in rated)
    steps = [s for t in traces for s in t["steps"]]
    assert {s["type"] for s in steps} == {"SPAN", "GENERATION", "RETRIEVER", "TOOL"}
    assert {s["model"] for s in steps if s["model"]} == {"openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"}
    assert {"WARNING", "ERROR"} <= {s["level"] for s in steps}
    assert all(t["cost_usd"] > 0 and t["latency_ms"] > 0 and t["tags"] and t["session_id"] for t in traces)
    assert len({t["input"]["question"] for t in traces}) >= 30


def test_loading_the_demo_twice_keeps_one_copy(db, admin, default_ws):
    first = demo.load_demo(db, admin, default_ws.id)
    again = demo.load_demo(db, admin, default_ws.id)
    assert (first["imported"], first["failed"]) == (len(_traces()), 0)
    assert (again["imported"], again["updated"]) == (0, len(_traces()))
    assert db.scalar("SELECT count(*) FROM traces WHERE workspace_id = ?", [default_ws.id]) == len(_traces())
    criterion = db.scalar("SELECT criterion FROM eval_sets WHERE name = ?", [demo.DEMO_EVAL_SET])
    assert criterion == demo.DEMO_CRITERION
