"""Jobs: background work with progress kept in the database."""

from __future__ import annotations

import threading

import pytest

from forge import auth, jobs
from forge.store import new_id, utcnow


def test_job_runs_in_background_and_keeps_progress_and_result(db, admin, default_ws):
    gate = threading.Event()
    seen = threading.Event()

    def work(progress):
        progress(3, 10, "three of ten")
        seen.set()
        gate.wait(10)
        progress(10, 10, "all ten")
        return {"imported": 10, "failed": 0}

    job = jobs.start(db, admin, default_ws.id, "import", work, params={"files": ["a.jsonl"]})
    assert job.status in ("queued", "running")
    assert seen.wait(10)
    # While it runs, another "page" sees its progress.
    running = jobs.get(db, admin, default_ws.id, job.id)
    assert running.status == "running" and running.active
    assert (running.done, running.total, running.message) == (3, 10, "three of ten")
    assert running.fraction == pytest.approx(0.3)
    gate.set()
    finished = jobs.wait(db, admin, default_ws.id, job.id, timeout=10)
    assert finished.status == "done"
    assert finished.result == {"imported": 10, "failed": 0}
    assert finished.params == {"files": ["a.jsonl"]}
    assert finished.fraction == 1.0 and finished.finished_at is not None


def test_failure_is_recorded_not_raised(db, admin, default_ws):
    def work(progress):
        progress(1, 4)
        raise RuntimeError("Langfuse said 401")

    job = jobs.start(db, admin, default_ws.id, "import-langfuse", work)
    done = jobs.wait(db, admin, default_ws.id, job.id, timeout=10)
    assert done.status == "failed"
    assert "Langfuse said 401" in done.error
    assert "Traceback" not in done.error
    assert not done.active


def test_dataclass_results_are_stored_as_json(db, admin, default_ws):
    from dataclasses import dataclass, field

    @dataclass
    class Summary:
        imported: int = 2
        errors: list = field(default_factory=lambda: [{"line": 3, "field": "input", "message": "missing"}])

    job = jobs.start(db, admin, default_ws.id, "import", lambda progress: Summary())
    done = jobs.wait(db, admin, default_ws.id, job.id, timeout=10)
    assert done.result["errors"][0]["line"] == 3


def test_jobs_left_running_by_a_dead_process_are_marked_interrupted(db, admin, default_ws):
    stale = new_id()
    db.execute(
        "INSERT INTO jobs (id, workspace_id, kind, status, done, total, created_at, started_at)"
        " VALUES (?, ?, 'import', 'running', 5, 100, ?, ?)",
        [stale, default_ws.id, utcnow(), utcnow()],
    )
    listed = {j.id: j for j in jobs.recent(db, admin, default_ws.id)}
    assert listed[stale].status == "failed"
    assert "interrupted" in listed[stale].error


def test_cancel_stops_a_running_job(db, admin, default_ws):
    started = threading.Event()

    def work(progress):
        started.set()
        for i in range(1000):
            progress(i, 1000)
            threading.Event().wait(0.01)
        return {}

    job = jobs.start(db, admin, default_ws.id, "import", work)
    assert started.wait(10)
    assert jobs.cancel(db, admin, default_ws.id, job.id)
    done = jobs.wait(db, admin, default_ws.id, job.id, timeout=10)
    assert done.status == "cancelled"


def test_recent_lists_only_the_workspace_newest_first(db, admin, default_ws, outsider):
    other = auth.workspaces_for(db, outsider)[0]
    first = jobs.start(db, admin, default_ws.id, "import", lambda p: {"n": 1})
    second = jobs.start(db, admin, default_ws.id, "import-langfuse", lambda p: {"n": 2})
    theirs = jobs.start(db, outsider, other.id, "import", lambda p: {"n": 3})
    for ws, j, who in ((default_ws.id, first, admin), (default_ws.id, second, admin), (other.id, theirs, outsider)):
        jobs.wait(db, who, ws, j.id, timeout=10)
    ids = [j.id for j in jobs.recent(db, admin, default_ws.id)]
    assert ids == [second.id, first.id]
    assert [j.id for j in jobs.recent(db, admin, default_ws.id, kinds=("import",))] == [first.id]


def test_outsiders_and_viewers_are_refused(db, admin, default_ws, outsider):
    with pytest.raises(auth.PermissionDenied):
        jobs.recent(db, outsider, default_ws.id)
    with pytest.raises(auth.PermissionDenied):
        jobs.start(db, outsider, default_ws.id, "import", lambda p: {})
    viewer = auth.create_user(db, admin, "vic", "x" * 12, "viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    with pytest.raises(auth.PermissionDenied):
        jobs.start(db, viewer, default_ws.id, "import", lambda p: {})
    assert jobs.recent(db, viewer, default_ws.id) == []
