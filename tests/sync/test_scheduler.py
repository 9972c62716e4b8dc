"""Scheduled Langfuse sync against the Langfuse stub: imports, then only new traces; errors recorded; no overlap."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from forge import auth, sync
from forge.store import traces as trace_store
from tests.conftest import PASSWORD
from tests.stubs.langfuse_stub import LangfuseStub, load_framework_traces

_keys = itertools.count()
EVERY = 0.02  # minutes: 1.2 s between runs (FORGE_SYNC_MIN_MINUTES allows it in tests)


@pytest.fixture
def framework(shared_data):
    return sorted(load_framework_traces(shared_data / "langfuse/framework_traces"), key=lambda x: x[0]["timestamp"])


@pytest.fixture
def short_intervals(monkeypatch):
    monkeypatch.setenv("FORGE_SYNC_MIN_MINUTES", "0.01")


@pytest.fixture
def langfuse_stub(framework, monkeypatch):
    with LangfuseStub(framework[:-1], public_key=f"pk-lf-sync-{next(_keys)}") as stub:
        for k, v in stub.env().items():
            monkeypatch.setenv(k, v)
        yield stub


@pytest.fixture
def scheduler(db):
    s = sync.start_scheduler(db, tick_s=0.1)
    yield s
    s.stop()


def _next_result(db, actor, ws_id, after=None, timeout: float = 30.0) -> sync.SyncStatus:
    """The workspace's sync status once a run finished after ``after``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = sync.status(db, actor, ws_id)
        if st.last_finished_at is not None and (after is None or st.last_finished_at > after) and not st.running:
            return st
        time.sleep(0.05)
    pytest.fail(f"no sync finished within {timeout} s: {sync.status(db, actor, ws_id)}")


def _import_results(db) -> list[dict]:
    """The summaries of the finished Langfuse import jobs, oldest first."""
    rows = db.fetchall("SELECT result FROM jobs WHERE kind = 'import-langfuse' AND status = 'done' ORDER BY started_at")
    return [json.loads(r[0]) for r in rows]


def test_scheduled_sync_imports_then_only_new_traces_and_survives_errors(
    db, admin, default_ws, framework, langfuse_stub, short_intervals, scheduler, monkeypatch
):
    off = sync.status(db, admin, default_ws.id)
    assert not off.enabled and off.last_status is None  # off by default
    sync.set_schedule(db, admin, default_ws.id, EVERY)

    first = _next_result(db, admin, default_ws.id)
    assert first.last_status == "done" and first.error is None
    access = auth.access(db, admin, default_ws.id)
    assert trace_store.count_traces(access) == 18
    # A run may outlast the 1.2 s interval and be followed at once by the next: judge by every run.
    results = _import_results(db)
    assert results[0]["imported"] == 18 and all(r["imported"] == r["updated"] == 0 for r in results[1:])

    langfuse_stub.add(*framework[-1])  # one new trace, newer than everything imported
    second = _next_result(db, admin, default_ws.id, after=first.last_finished_at)
    deadline = time.monotonic() + 30
    while trace_store.count_traces(access) < 19 and time.monotonic() < deadline:
        second = _next_result(db, admin, default_ws.id, after=second.last_finished_at)
    assert trace_store.count_traces(access) == 19 and second.last_status == "done"
    results = _import_results(db)
    # Only the new trace was fetched and stored: nothing imported twice, nothing updated.
    assert sum(r["imported"] for r in results) == 19 and sum(r["updated"] for r in results) == 0
    assert [r["imported"] for r in results].count(1) == 1

    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-wrong")  # the next run is refused
    broken = _next_result(db, admin, default_ws.id, after=second.last_finished_at)
    while broken.last_status == "done":  # a run that had started with the right key
        broken = _next_result(db, admin, default_ws.id, after=broken.last_finished_at)
    assert broken.last_status == "failed" and "refused the keys" in broken.error
    assert "sk-lf-wrong" not in broken.error

    monkeypatch.setenv("LANGFUSE_SECRET_KEY", langfuse_stub.secret_key)  # fixed: the scheduler carries on
    healed = _next_result(db, admin, default_ws.id, after=broken.last_finished_at)
    while healed.last_status == "failed":  # a run that had started with the wrong key
        healed = _next_result(db, admin, default_ws.id, after=healed.last_finished_at)
    assert (healed.last_status, healed.imported, healed.error) == ("done", 0, None)

    # One import at a time: each scheduled job started after the previous one ended.
    spans = db.fetchall(
        "SELECT started_at, finished_at FROM jobs WHERE kind = 'import-langfuse' AND workspace_id = ?"
        " ORDER BY started_at",
        [default_ws.id],
    )
    assert len(spans) >= 4
    assert all(prev[1] <= nxt[0] for prev, nxt in itertools.pairwise(spans))

    sync.set_schedule(db, admin, default_ws.id, None)
    runs_before = len(spans)
    time.sleep(1.6)  # longer than the interval: nothing more runs once it is off
    assert db.scalar("SELECT count(*) FROM jobs WHERE kind = 'import-langfuse'") == runs_before
    scheduler.stop()
    assert not scheduler._thread.is_alive()


def test_only_members_who_may_import_change_it(db, admin, default_ws, analyst, outsider, short_intervals):
    viewer = auth.create_user(db, admin, "vic", PASSWORD, "viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    with pytest.raises(auth.PermissionDenied):
        sync.set_schedule(db, viewer, default_ws.id, 5)
    assert sync.status(db, viewer, default_ws.id).can_change is False
    with pytest.raises(auth.PermissionDenied):
        sync.set_schedule(db, outsider, default_ws.id, 5)
    with pytest.raises(auth.PermissionDenied):
        sync.status(db, outsider, default_ws.id)
    on = sync.set_schedule(db, analyst, default_ws.id, 5)
    assert on.enabled and on.every_minutes == 5 and on.run_as == "ana" and on.can_change
    for bad in (0, -1, float("nan"), float("inf"), 0.001, sync.MAX_MINUTES + 1):
        with pytest.raises(ValueError, match="every_minutes"):
            sync.set_schedule(db, analyst, default_ws.id, bad)
    assert sync.status(db, admin, default_ws.id).every_minutes == 5  # a refused change keeps the setting


def test_a_member_demoted_after_switching_it_on_no_longer_imports(
    db, admin, default_ws, analyst, langfuse_stub, short_intervals
):
    sync.set_schedule(db, analyst, default_ws.id, EVERY)
    auth.set_role(db, admin, "ana", "viewer")
    scheduler = sync.Scheduler(db, tick_s=0.1)
    scheduler.run_once()  # one pass, in this thread
    st = sync.status(db, admin, default_ws.id)
    assert st.last_status == "failed" and st.error.startswith("not started:") and "switch the sync on again" in st.error
    assert trace_store.count_traces(auth.access(db, admin, default_ws.id)) == 0
