"""Exports: a standalone eval file that is still a valid eval, and a pytest file that really runs in pytest."""

from __future__ import annotations

import json

from forge.evals.export import ExportedEval, pytest_file, standalone_eval
from forge.evals.validate import validate_source
from tests.evalgen.conftest import run_pytest
from tests.evals.test_generate import GOOD_LENGTH, GOOD_PLACEHOLDER

EVALS = [
    ExportedEval("no_placeholder", 2, GOOD_PLACEHOLDER, "llm", {"n": 30, "accuracy": 1.0, "kappa": 1.0}),
    ExportedEval("short enough", 1, GOOD_LENGTH, "synth"),
]


def test_standalone_eval_keeps_the_contract_and_says_where_it_came_from():
    text = standalone_eval(EVALS[0], "No placeholders", "never leaves [name]")
    assert validate_source(text) is None
    assert "'no_placeholder' v2 (llm)" in text and "kappa 1.000" in text and text.endswith(GOOD_PLACEHOLDER)


def test_exported_pytest_file_runs_and_fails_on_each_contradiction(tmp_path):
    rows = [
        {"id": "a", "output_text": "Dear Ana, thanks.", "rating": "pass"},
        {"id": "b", "output_text": "Dear [name], thanks.", "rating": "fail"},
        {"id": "c", "output_text": "Hello [customer].", "rating": "pass"},  # the placeholder eval contradicts this
        {"id": "d", "output_text": "Unrated.", "rating": "neutral"},
    ]
    (tmp_path / "traces.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    test_file = tmp_path / "test_no_placeholders.py"
    test_file.write_text(pytest_file(EVALS, "No placeholders", "never leaves [name]"))

    proc = run_pytest(test_file, tmp_path)
    out = proc.stdout
    # 2 evals x 3 rated traces: the placeholder eval fails trace c; the length eval fails trace b.
    assert proc.returncode == 1, out
    assert "2 failed, 5 passed" in out
    assert "no_placeholder_v2::c" in out and "short_enough_v1::b" in out
    assert "contradiction: no_placeholder_v2 says fail, the human said pass" in out

    fixed = [r for r in rows if r["id"] not in ("b", "c")]
    (tmp_path / "traces.jsonl").write_text("\n".join(json.dumps(r) for r in fixed) + "\n")
    proc = run_pytest(test_file, tmp_path)
    assert proc.returncode == 0 and "3 passed" in proc.stdout
