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


def test_cancelling_a_generation_job_keeps_the_candidates_already_written(
    db, admin, default_ws, admin_access, placeholder_es, openai_stub
):
    import time

    from tests.evals.test_generate import GOOD_BRACKETS, GOOD_PLACEHOLDER, answer, block

    es, _ = placeholder_es
    openai_stub.delay = 1.0
    openai_stub.script("gpt-4o-mini", answer(block("a", "x", GOOD_PLACEHOLDER), block("b", "y", GOOD_BRACKETS)))
    job = generation_jobs.start_generation(db, admin, default_ws.id, es["id"], "openai/gpt-4o-mini", k=2)
    deadline = time.monotonic() + 30
    while not openai_stub.requests and time.monotonic() < deadline:  # the model is writing
        time.sleep(0.05)
    assert jobs.cancel(db, admin, default_ws.id, job.id)
    done = jobs.wait(db, admin, default_ws.id, job.id, timeout=60)
    assert done.status == "cancelled" and "2 candidate(s) made before it were kept" in done.error
    stored = eval_store.evals_with_current(admin_access, es["id"])
    assert sorted(r["name"] for r in stored) == ["a", "b"]
    assert all(r["status"] == "rejected" and "cancelled" in r["note"] for r in stored)
    assert eval_store.list_generations(admin_access, es["id"])[0]["status"] == "cancelled"
