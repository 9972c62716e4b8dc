"""Evals in a team's CI: `forge eval export` writes the kept evals as a pytest file, and
`forge eval run --min-pass-rate / --max-contradictions` turns a run into exit code 3 when a gate is missed."""

from __future__ import annotations

import json

import pytest

from forge import cli
from forge.evals.gate import GATE_NOT_MET, Gate, GateError
from forge.store import evals as eval_store
from tests.conftest import PASSWORD
from tests.evalgen.conftest import run_pytest
from tests.evals.test_generate import GOOD_LENGTH, GOOD_PLACEHOLDER

REPLIES = [
    {"id": "a", "output_text": "Dear Ana, your tent ships today.", "rating": "pass"},
    {"id": "b", "output_text": "Dear [name], your tent ships today.", "rating": "fail"},
    {"id": "c", "output_text": "Hello [customer], thanks.", "rating": "pass"},  # the eval contradicts this one
    {"id": "d", "output_text": "Thanks, the refund is on its way.", "rating": "pass"},
]


@pytest.fixture
def as_admin(monkeypatch, admin):
    """The `forge` command logs in as the admin of the test database."""
    monkeypatch.setenv("FORGE_USER", "admin")
    monkeypatch.setenv("FORGE_PASSWORD", PASSWORD)


@pytest.fixture
def files(tmp_path):
    eval_file = tmp_path / "no_placeholder.py"
    eval_file.write_text(GOOD_PLACEHOLDER)
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("\n".join(json.dumps(r) for r in REPLIES) + "\n")
    outputs = tmp_path / "outputs.jsonl"  # fresh app outputs: no ratings
    outputs.write_text("\n".join(json.dumps({"id": r["id"], "output_text": r["output_text"]}) for r in REPLIES))
    return eval_file, labelled, outputs


def test_the_pass_rate_gate_fails_the_build_below_the_threshold(files, capsys):
    eval_file, _, outputs = files
    # 2 of 4 outputs keep a placeholder: 50 % pass.
    assert cli.main(["eval", "run", str(eval_file), "--traces", str(outputs), "--min-pass-rate", "75"]) == GATE_NOT_MET
    err = capsys.readouterr().err
    assert "gate not met: no_placeholder.py passed 2 of 4 traces (50.0 %), under --min-pass-rate 75 %" in err
    assert cli.main(["eval", "run", str(eval_file), "--traces", str(outputs), "--min-pass-rate", "50"]) == 0
    assert "gate not met" not in capsys.readouterr().err


def test_the_contradiction_gate_counts_disagreements_with_the_file_ratings(files, capsys):
    eval_file, labelled, outputs = files
    args = ["eval", "run", str(eval_file), "--traces", str(labelled), "--json"]
    assert cli.main([*args, "--max-contradictions", "0"]) == GATE_NOT_MET
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[-1])["contradictions"] == 1
    assert "contradicts the human label on 1 of 4 rated traces, over --max-contradictions 0" in captured.err
    assert cli.main([*args, "--max-contradictions", "1"]) == 0
    capsys.readouterr()
    # Without ratings there is nothing to count: the gate refuses to pass silently.
    assert cli.main(["eval", "run", str(eval_file), "--traces", str(outputs), "--max-contradictions", "5"]) == 3
    assert "needs ratings" in capsys.readouterr().err


def test_a_gate_out_of_range_is_bad_input(files, capsys):
    eval_file, _, outputs = files
    assert cli.main(["eval", "run", str(eval_file), "--traces", str(outputs), "--min-pass-rate", "150"]) == 2
    assert "--min-pass-rate must be a percentage from 0 to 100, not 150" in capsys.readouterr().err
    with pytest.raises(GateError):
        Gate(max_contradictions=-1)


def test_errors_count_as_not_passing():
    gate = Gate(min_pass_rate=100)
    assert gate.misses("e", passed=9, total=10, contradictions=0, rated=0)  # one error among ten
    assert not gate.misses("e", passed=10, total=10, contradictions=0, rated=0)
    assert gate.misses("e", passed=0, total=0, contradictions=0, rated=0)  # nothing ran: not a pass


def test_the_set_run_gate_uses_the_stored_human_labels(admin_access, placeholder_es, as_admin, capsys):
    es, _ = placeholder_es
    eval_store.create_eval(admin_access, es["id"], "no_placeholder", GOOD_PLACEHOLDER, status="kept")
    eval_store.create_eval(admin_access, es["id"], "short", GOOD_LENGTH, status="kept")  # passes every trace
    base = ["eval", "run", "--eval-set", "No placeholders", "--json"]
    assert cli.main([*base, "--max-contradictions", "0"]) == GATE_NOT_MET
    captured = capsys.readouterr()
    summaries = {s["eval"]: s for s in map(json.loads, captured.out.splitlines()) if s.get("summary") == "eval"}
    assert summaries["short"]["contradictions"] > 0  # it never fails, the humans do
    assert "short v1 contradicts the human label on" in captured.err
    assert "no_placeholder v1 contradicts" not in captured.err
    assert summaries["no_placeholder"]["contradictions"] == 0


def test_export_writes_a_pytest_file_that_fails_once_per_contradiction(
    admin_access, placeholder_es, as_admin, tmp_path, capsys
):
    es, _ = placeholder_es
    assert cli.main(["eval", "export", "--eval-set", "No placeholders"]) == 2
    assert "has no kept eval yet" in capsys.readouterr().err
    eval_store.create_eval(admin_access, es["id"], "no_placeholder", GOOD_PLACEHOLDER, status="kept")
    eval_store.create_eval(admin_access, es["id"], "draft", GOOD_LENGTH)  # a candidate: not exported

    out = tmp_path / "test_no_placeholders.py"
    assert cli.main(["eval", "export", "--eval-set", "No placeholders", "--out", str(out)]) == 0
    assert "wrote 1 kept eval(s) of 'No placeholders'" in capsys.readouterr().err
    text = out.read_text()
    assert "no_placeholder_v1" in text and "draft" not in text

    (tmp_path / "traces.jsonl").write_text("\n".join(json.dumps(r) for r in REPLIES) + "\n")
    proc = run_pytest(out, tmp_path)
    assert proc.returncode == 1 and "1 failed, 4 passed" in proc.stdout, proc.stdout
    assert "no_placeholder_v1::c" in proc.stdout

    # One eval as a standalone file, on standard output; an unknown name lists the ones there are.
    assert cli.main(["eval", "export", "--eval-set", "No placeholders", "--eval", "draft"]) == 0
    assert capsys.readouterr().out.endswith(GOOD_LENGTH)
    assert cli.main(["eval", "export", "--eval-set", "No placeholders", "--eval", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no eval named 'nope' in eval set 'No placeholders'" in err and "'draft'" in err
