"""Generation jobs (progress, cancel keeps what was made) and `forge eval synth --traces --out`."""

from __future__ import annotations

import json

from forge import generation_jobs, jobs
from forge.evals.validate import validate_source
from forge.store import evals as eval_store
from tests.evals.handmade import placeholder_set


def test_synthesis_job_reports_progress_and_stores(db, admin, default_ws, admin_access, placeholder_es):
    es, _ = placeholder_es
    job = generation_jobs.start_synthesis(db, admin, default_ws.id, es["id"])
    done = jobs.wait(db, admin, default_ws.id, job.id, timeout=120)
    assert done.status == "done" and done.result["chosen"] and done.total and done.done == done.total
    assert eval_store.list_evals(admin_access, es["id"], status="kept")


def test_cancel_stops_a_synthesis_job(db, admin, default_ws, admin_access, placeholder_es):
    es, _ = placeholder_es
    job = generation_jobs.start_synthesis(db, admin, default_ws.id, es["id"])
    assert jobs.cancel(db, admin, default_ws.id, job.id)
    done = jobs.wait(db, admin, default_ws.id, job.id, timeout=120)
    assert done.status == "cancelled" and "Cancelled by a user" in done.error


def test_cli_synth_file_writes_a_valid_eval(tmp_path, capsys):
    from forge import cli

    traces, labels = placeholder_set(60)
    rows = [{**t, "rating": "pass" if y else "fail"} for t, y in zip(traces, labels, strict=True)]
    src = tmp_path / "labelled.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows))
    out = tmp_path / "eval.py"
    assert cli.main(["eval", "synth", "--traces", str(src), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["out"] == str(out) and validate_source(out.read_text()) is None
    assert summary["held_out"]["kappa"] > 0.9
    assert cli.main(["eval", "synth", "--traces", str(src)]) == 2
