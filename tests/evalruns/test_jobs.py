"""Eval runs as jobs: progress while running, cancel mid-run, several sandbox workers."""

from __future__ import annotations

import threading
import time

from forge import eval_jobs, jobs
from forge.evals.sandbox import WORKER_FILE, close_idle_workers
from forge.store import eval_results as result_store
from forge.store import evals as eval_store
from tests.evalruns.conftest import seed_workspace
from tests.evals.conftest import processes_with, workers_alive

# About 10-30 ms a call: slow enough to watch a run, allowed by the sandbox (no imports needed).
SLOW = """
def evaluate(trace):
    total = 0
    for i in range(300000):
        total += i
    return total > 0, "slow but sure"
"""


def _slow_set(access, n_traces: int) -> dict:
    seeded = seed_workspace(access, n_traces=n_traces, n_rated=n_traces)
    slow = eval_store.create_eval(access, seeded["eval_set"]["id"], "slow", SLOW)
    return {**seeded, "slow": slow}


def test_job_reports_progress_and_stores_the_run(db, admin, default_ws, access):
    seeded = seed_workspace(access, n_traces=60, n_rated=30)
    job = eval_jobs.start_eval_run(
        db, admin, default_ws.id, seeded["eval_set"]["id"], scope="workspace", page_size=25, label="everything"
    )
    assert job.kind == "eval-run" and job.message == "Running evals on everything"
    done = jobs.wait(db, admin, default_ws.id, job.id, timeout=120)
    assert done.status == "done", done.error
    assert done.result["verdicts"] == 120 and done.result["traces"] == 60 and done.result["evals"] == 2
    assert (done.done, done.total) == (120, 120)
    run = result_store.get_run(access, done.result["run_id"])
    assert run.status == "done" and run.isolation == done.result["isolation"]
    assert [j.id for j in eval_jobs.eval_run_jobs(db, admin, default_ws.id)] == [job.id]


def test_cancel_mid_run_keeps_finished_pages(db, admin, default_ws, access):
    seeded = _slow_set(access, 400)
    job = eval_jobs.start_eval_run(
        db, admin, default_ws.id, seeded["eval_set"]["id"], [seeded["slow"].id], page_size=40, workers=1
    )
    deadline = time.monotonic() + 120
    while (current := jobs.get(db, admin, default_ws.id, job.id)).done < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert current.status == "running" and current.total == 400
    assert jobs.cancel(db, admin, default_ws.id, job.id)
    ended = jobs.wait(db, admin, default_ws.id, job.id, timeout=60)
    assert ended.status == "cancelled"
    run = result_store.list_runs(access)[0]
    assert run.status == "cancelled" and run.finished_at is not None
    stored = result_store.run_counts(access, run.id).get(run.eval_version_ids[0], {"passed": 0})
    # Whole pages only (no "cancelled" verdict is kept as a result), and not all of them.
    assert stored["passed"] == run.done and run.done % 40 == 0 and 40 <= run.done < 400
    assert stored.get("errors", 0) == 0
    assert workers_alive() == []


def test_a_large_run_uses_several_workers(db, admin, default_ws, access):
    seeded = _slow_set(access, 400)
    close_idle_workers()
    seen = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            seen.append(len(processes_with(str(WORKER_FILE))))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    job = eval_jobs.start_eval_run(
        db, admin, default_ws.id, seeded["eval_set"]["id"], [seeded["slow"].id], page_size=400, workers=2
    )
    done = jobs.wait(db, admin, default_ws.id, job.id, timeout=180)
    stop.set()
    watcher.join()
    assert done.status == "done", done.error
    assert max(seen) >= 2  # two sandbox workers ran the eval side by side
    assert done.result["verdicts"] == 400
