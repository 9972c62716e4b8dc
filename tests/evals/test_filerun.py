"""`forge eval run EVAL.py --traces FILE [--json] [--timeout S]`, driven as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from tests.evals.conftest import SECRET

ROOT = Path(__file__).resolve().parents[2]
EVAL = "import re\ndef evaluate(trace):\n    return bool(re.search(r'\\d', trace['output_text'])), 'has a digit'\n"
ROWS = [
    {"id": "t1", "input": "2+2?", "output": "4", "rating": "pass"},  # True, agree
    {"id": "t2", "input": "capital?", "output": "Paris", "rating": "fail"},  # False, agree
    {"id": "t3", "input": "year?", "output": "in 1999", "rating": "fail"},  # True, contradiction
    {"id": "t4", "input": "name?", "output": "Bob", "rating": "pass"},  # False, contradiction
    {"id": "t5", "input": "n?", "output": "7", "rating": "neutral"},  # excluded
    {"id": "t6", "input": "m?", "output": "12", "rating": "up"},  # True, agree
]


def forge(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "forge", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def files(tmp_path):
    eval_file = tmp_path / "has_digit.py"
    eval_file.write_text(EVAL)
    traces = tmp_path / "traces.jsonl"
    traces.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return eval_file, traces


def test_json_prints_one_object_per_trace_and_the_agreement_summary(files):
    eval_file, traces = files
    res = forge("eval", "run", str(eval_file), "--traces", str(traces), "--json")
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    per_trace, summary = lines[:-1], lines[-1]
    assert [r["trace_id"] for r in per_trace] == ["t1", "t2", "t3", "t4", "t5", "t6"]
    assert [r["verdict"] for r in per_trace] == [True, False, True, False, True, True]
    assert set(per_trace[0]) == {"trace_id", "verdict", "reason", "error", "duration_ms"}
    assert per_trace[0]["reason"] == "has a digit" and per_trace[0]["error"] is None
    # 5 rated pass/fail: 3 agree, 2 contradict; kappa: p_h = 3/5, p_e = 3/5, chance = 0.52.
    assert summary["n"] == 5 and summary["accuracy"] == 0.6 and summary["contradictions"] == 2
    assert summary["errors"] == 0 and summary["kappa"] == pytest.approx((0.6 - 0.52) / 0.48, abs=1e-3)
    assert SECRET not in res.stdout + res.stderr


def test_table_output_for_people(files):
    eval_file, traces = files
    res = forge("eval", "run", str(eval_file), "--traces", str(traces))
    assert res.returncode == 0, res.stderr
    assert "trace_id" in res.stdout and "pass" in res.stdout and "fail" in res.stdout
    assert "n=5 accuracy=60.0%" in res.stdout and "contradictions=2" in res.stdout


def test_no_summary_without_ratings(tmp_path, files):
    eval_file, _ = files
    traces = tmp_path / "plain.csv"
    traces.write_text("id,input,output\na,q,answer 1\nb,q,none\n")
    res = forge("eval", "run", str(eval_file), "--traces", str(traces), "--json")
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.returncode == 0 and [r["verdict"] for r in lines] == [True, False]


@pytest.mark.parametrize("which", ["eval", "traces", "directory"])
def test_missing_or_unreadable_file_exits_2_with_one_line(tmp_path, files, which):
    eval_file, traces = files
    args = {
        "eval": (str(tmp_path / "nope.py"), str(traces)),
        "traces": (str(eval_file), str(tmp_path / "nope.jsonl")),
        "directory": (str(eval_file), str(tmp_path)),
    }[which]
    res = forge("eval", "run", args[0], "--traces", args[1], "--json")
    assert res.returncode == 2
    assert res.stdout == "" and len(res.stderr.strip().splitlines()) == 1 and "cannot read" in res.stderr


def test_an_eval_that_fails_validation_is_a_clean_run_of_errors(tmp_path, files):
    _, traces = files
    bad = tmp_path / "bad.py"
    bad.write_text("import os\ndef evaluate(trace):\n    return os.system('id') == 0\n")
    res = forge("eval", "run", str(bad), "--traces", str(traces), "--json")
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert all(r["verdict"] is None and "import of 'os' is not allowed" in r["error"] for r in lines[:-1])
    assert lines[-1]["errors"] == 6 and lines[-1]["n"] == 0


def test_timeout_option_and_reduced_isolation_notice(tmp_path, files):
    _, traces = files
    hang = tmp_path / "hang.py"
    hang.write_text("def evaluate(trace):\n    while trace['id'] == 't2':\n        pass\n    return True\n")
    res = forge(
        "eval",
        "run",
        str(hang),
        "--traces",
        str(traces),
        "--json",
        "--timeout",
        "0.5",
        env={"FORGE_SANDBOX": "reduced"},
    )
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert lines[1]["verdict"] is None and lines[1]["error"].startswith("timeout")
    assert all(r["verdict"] is True for i, r in enumerate(lines[:-1]) if i != 1)
    assert "reduced isolation" in res.stderr


@pytest.mark.skipif(not (SHARED_DATA / "halueval_general.jsonl").exists(), reason="shared data missing")
def test_runs_over_the_halueval_labelled_set(tmp_path):
    sample = tmp_path / "halueval.jsonl"
    sample.write_text("".join((SHARED_DATA / "halueval_general.jsonl").read_text().splitlines(True)[:300]))
    refusal = tmp_path / "refusal.py"
    refusal.write_text(
        "import re\nREFUSAL = re.compile(r'(?i)as an ai language model|i cannot|i am sorry')\n"
        "def evaluate(trace):\n    hit = REFUSAL.search(trace['output_text'])\n"
        "    return (False, 'refusal: ' + hit.group(0)) if hit else (True, 'answers')\n"
    )
    res = forge("eval", "run", str(refusal), "--traces", str(sample), "--json")
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(lines) == 301 and lines[-1]["n"] > 0 and lines[-1]["errors"] == 0
    assert any(r.get("verdict") is False for r in lines[:-1]) and any(r.get("verdict") is True for r in lines[:-1])
