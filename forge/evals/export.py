"""Evals out of Forge: one eval as a standalone ``.py``, a whole set as a pytest file for a team's own CI.

The pytest file embeds each kept eval's source, reads a traces file (JSONL in the unified shape, the human
label in a ``rating`` field) and fails once per contradiction. It runs the evals in the CI's own Python
process: the team's CI is the sandbox there, as it is for any test code they run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from forge.store import evals as eval_store
from forge.store.access import Access


@dataclass(frozen=True)
class ExportedEval:
    """One eval version to export."""

    name: str
    version: int
    source: str
    origin: str = ""
    metrics: dict[str, Any] | None = None


def _comment(lines: Sequence[str]) -> str:
    return "\n".join(f"# {line}".rstrip() for line in lines)


def _figures_line(metrics: dict[str, Any] | None) -> str:
    if not metrics:
        return "held-out figures: none recorded"
    parts = [
        f"{name} {metrics[name]:.3f}"
        for name in ("accuracy", "kappa", "f1", "coverage", "false_failure_rate")
        if metrics.get(name) is not None
    ]
    return f"held-out figures (n={metrics.get('n')}): " + ", ".join(parts)


def standalone_eval(ev: ExportedEval, eval_set: str, criterion: str) -> str:
    """The eval's source with a header of where it came from; still a valid eval (``forge eval run`` takes it)."""
    header = _comment(
        [
            f"Forge eval '{ev.name}' v{ev.version} ({ev.origin or 'eval'}) from eval set '{eval_set}'.",
            f"Criterion: {criterion}",
            _figures_line(ev.metrics),
            "Run it: forge eval run THIS_FILE.py --traces traces.jsonl",
        ]
    )
    return f"{header}\n\n{ev.source.rstrip()}\n"


def module_name(name: str) -> str:
    """A file-name-safe form of a name."""
    return re.sub(r"[^0-9a-zA-Z_]+", "_", name).strip("_").lower() or "evals"


_PYTEST_TEMPLATE = '''"""Forge evals of eval set {eval_set!r} as a pytest file: each contradiction fails.

Criterion: {criterion}

Run: FORGE_TRACES=traces.jsonl pytest {file_name}
The traces file is JSONL in Forge's unified trace shape; the human label is each line's ``rating``
(pass/fail, up/down, 1/0, true/false; neutral or missing = not checked).
"""

import json
import os
from pathlib import Path

import pytest

EVALS = {evals!r}

TRACES = os.environ.get("FORGE_TRACES") or str(Path(__file__).with_name("traces.jsonl"))
_LABELS = {{"pass": True, "up": True, "1": True, "true": True, "thumbs_up": True,
           "fail": False, "down": False, "0": False, "false": False, "thumbs_down": False}}


def _label(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return {{1: True, 0: False}}.get(int(value))
    return _LABELS.get(str(value).strip().lower()) if value is not None else None


def _traces():
    path = Path(TRACES)
    if not path.exists():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            trace = json.loads(line)
            trace.setdefault("id", f"line {{number}}")
            trace.setdefault("input_text", trace.get("input") if isinstance(trace.get("input"), str) else "")
            trace.setdefault("output_text", trace.get("output") if isinstance(trace.get("output"), str) else "")
            trace.setdefault("steps", [])
            out.append(trace)
    return out


def _evaluate(name):
    namespace = {{"__name__": "forge_eval_" + name}}
    exec(compile(EVALS[name], name + ".py", "exec"), namespace)
    return namespace["evaluate"]


CASES = [
    pytest.param(name, trace, id=f"{{name}}::{{trace['id']}}")
    for name in EVALS
    for trace in _traces()
    if _label(trace.get("rating")) is not None
]


def test_the_traces_file_has_rated_traces():
    assert CASES, f"no rated traces in {{TRACES}} (set FORGE_TRACES to a JSONL file with a rating per line)"


@pytest.mark.parametrize(("eval_name", "trace"), CASES)
def test_eval_agrees_with_the_human(eval_name, trace):
    result = _evaluate(eval_name)(trace)
    verdict, reason = (result[0], result[1]) if isinstance(result, tuple) else (result, "")
    human = _label(trace.get("rating"))
    assert bool(verdict) == human, (
        f"contradiction: {{eval_name}} says {{'pass' if verdict else 'fail'}}, the human said"
        f" {{'pass' if human else 'fail'}} ({{reason}})"
    )
'''


def pytest_file(evals: Sequence[ExportedEval], eval_set: str, criterion: str) -> str:
    """A pytest module running ``evals`` over a traces JSONL file, failing once per contradiction."""
    sources = {f"{module_name(ev.name)}_v{ev.version}": ev.source for ev in evals}
    file_name = f"test_{module_name(eval_set)}.py"
    return _PYTEST_TEMPLATE.format(eval_set=eval_set, criterion=criterion, file_name=file_name, evals=sources)


@dataclass(frozen=True)
class ExportFile:
    """A file to hand to the user: its suggested name, its text and how many evals it holds."""

    file_name: str
    text: str
    evals: int


def export_set(access: Access, eval_set: dict) -> ExportFile:
    """The set's kept evals (current versions) as one pytest file; ``evals`` is 0 when none is kept."""
    kept = eval_store.evals_with_current(access, eval_set["id"], status="kept")
    exported = [ExportedEval(r["name"], r["version"], r["source"], r["origin"], r["metrics"]) for r in kept]
    text = pytest_file(exported, eval_set["name"], eval_set.get("criterion") or "")
    return ExportFile(f"test_{module_name(eval_set['name'])}.py", text, len(exported))


class ExportError(LookupError):
    """No eval of that name in the set (bad input)."""


def export_eval(access: Access, eval_set: dict, name: str) -> ExportFile:
    """The set's eval called ``name``, its current version, as a standalone ``.py`` file."""
    rows = eval_store.evals_with_current(access, eval_set["id"])
    row = next((r for r in rows if r["name"] == name), None)
    if row is None:
        known = ", ".join(f"'{r['name']}'" for r in rows[:10]) or "none yet"
        raise ExportError(f"no eval named '{name}' in eval set '{eval_set['name']}' (evals: {known})")
    exported = ExportedEval(row["name"], row["version"], row["source"], row["origin"], row["metrics"])
    text = standalone_eval(exported, eval_set["name"], eval_set.get("criterion") or "")
    return ExportFile(f"{module_name(row['name'])}_v{row['version']}.py", text, 1)
