"""A small eval set whose every figure is known by hand (see KNOWN below)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from forge import auth
from forge.store import evals as eval_store
from forge.store import matrix as matrix_store
from forge.store import ratings as rating_store
from forge.store import traces as trace_store
from forge.traces.model import normalize_trace
from tests.cli.conftest import forge_cli  # noqa: F401 - the `forge` subprocess fixture

# Ten traces. Human labels: t0-t3 pass, t4-t6 fail, t7 unrated, t8 a tie (admin pass, bob fail), t9 fail.
RATINGS = {
    "admin": ["pass", "pass", "pass", "pass", "fail", "fail", "fail", None, "pass", "fail"],
    "bob": ["pass", None, None, None, "fail", None, None, None, "fail", None],
}
# Verdicts of the current versions (None = error).
VERDICTS = {
    "alpha": [True, True, False, True, False, False, True, True, False, None],
    "beta": [True, False, False, True, False, True, True, False, True, True],
    "gamma": [True, True, True, True, True, True, False, True, True, True],
}
ALPHA_V1 = [True] * 10  # the older version of alpha: never fails

ALPHA_SOURCE = """import re
REFUSAL = re.compile(r"I don't know")


def evaluate(trace):
    text = trace["output_text"]
    if REFUSAL.search(text):
        return False, "matched 'I don't know'"
    if len(text) < 5:
        return False, "line 9: answer shorter than 5 characters"
    return True, "no refusal"
"""


@dataclass
class Known:
    access: auth.Access
    eval_set_id: str
    eval_set: str
    trace_ids: list[str]  # t0..t9
    evals: dict[str, str]  # name -> eval id
    versions: dict[str, str]  # "alpha v2" etc. -> version id


def _reason(name: str, verdict: bool | None) -> str | None:
    if verdict is None:
        return None
    if name == "alpha" and verdict is False:
        return "matched 'I don't know'"
    return f"{name} says {'pass' if verdict else 'fail'}"


def build_known(db, admin, workspace_id: str) -> Known:
    access = auth.access(db, admin, workspace_id, "edit")
    traces = [
        normalize_trace(
            {
                "id": f"lf-{i}" if i < 5 else f"file-{i}",
                "name": f"question {i}",
                "timestamp": f"2026-01-{5 + i if i < 5 else 12 + i - 5:02d}T10:00:00Z",
                "input": f"question number {i}",
                "output": "I don't know" if i in (4, 5) else f"answer number {i}",
                "tags": ["prod"] if i % 2 == 0 else ["staging"],
                "source": "langfuse" if i < 5 else "file",
            }
        )
        for i in range(10)
    ]
    ids = trace_store.upsert_traces(access, traces)["ids"]
    es = rating_store.get_or_create_eval_set(access, "Grounded answers")
    rows = [
        {
            "trace_id": ids[i],
            "rater": rater,
            "value": value,
            "note": "clearly grounded" if (rater, i) == ("admin", 2) else None,
        }
        for rater, values in RATINGS.items()
        for i, value in enumerate(values)
        if value
    ]
    rating_store.upsert_ratings(access, es["id"], rows)
    evals, versions = {}, {}
    for name, verdicts in VERDICTS.items():
        source = ALPHA_SOURCE if name == "alpha" else f"def evaluate(trace):\n    return True, '{name}'\n"
        ev = eval_store.create_eval(access, es["id"], name, source)
        evals[name] = ev.id
        first = eval_store.versions(access, ev.id)[0]
        if name == "alpha":
            matrix_store.record_results(
                access, first.id, [{"trace_id": ids[i], "verdict": v, "reason": "v1"} for i, v in enumerate(ALPHA_V1)]
            )
            versions["alpha v1"] = first.id
            first = eval_store.add_version(access, ev.id, ALPHA_SOURCE)
        versions[f"{name} v{first.version}"] = first.id
        matrix_store.record_results(
            access,
            first.id,
            [
                {
                    "trace_id": ids[i],
                    "verdict": v,
                    "reason": _reason(name, v),
                    "error": "TimeoutError: evaluate took longer than 2 s" if v is None else None,
                    "duration_ms": 1.5 + i,
                }
                for i, v in enumerate(verdicts)
            ],
        )
    return Known(access, es["id"], es["name"], ids, evals, versions)


@pytest.fixture
def known(db, admin, default_ws) -> Known:
    return build_known(db, admin, default_ws.id)
