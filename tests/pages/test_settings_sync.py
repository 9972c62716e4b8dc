"""Settings > Scheduled Langfuse sync (AppTest): switch it on, see the last result and its error."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from forge import auth, jobs, sync
from forge.store import utcnow
from tests.conftest import PASSWORD
from tests.stubs.langfuse_stub import LangfuseStub, load_framework_traces

PAGE = "pages/settings.py"
_keys = itertools.count()


def _sync_once(db, ws_id, hours: int) -> None:
    """A scheduler pass ``hours`` from now (the sync is due then), the job's end, and the pass that records it."""
    scheduler = sync.Scheduler(db, tick_s=0.1)
    at = utcnow() + timedelta(hours=hours)
    scheduler.run_once(now=at)
    job_id = db.scalar("SELECT job_id FROM langfuse_sync WHERE workspace_id = ?", [ws_id])
    assert job_id
    admin = auth.get_user(db, "admin")
    assert not jobs.wait(db, admin, ws_id, job_id, timeout=30).active
    scheduler.run_once(now=at)  # records the result; not due again at that time


def _texts(at, *kinds) -> str:
    return " ".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def test_last_result_and_its_error_are_shown(app_as, db, admin, default_ws, shared_data, monkeypatch):
    traces = load_framework_traces(shared_data / "langfuse/framework_traces")
    with LangfuseStub(traces, public_key=f"pk-lf-page-{next(_keys)}") as stub:
        for k, v in stub.env().items():
            monkeypatch.setenv(k, v)
        at = app_as("admin", page=PAGE)
        assert "No scheduled sync has run yet." in _texts(at, "caption") and "**Off**." in _texts(at, "markdown")

        sync.set_schedule(db, admin, default_ws.id, 60)
        _sync_once(db, default_ws.id, hours=0)
        at.run()
        assert not at.exception
        ok = _texts(at, "success")
        assert "Last sync succeeded at" in ok and "imported 19, updated 0, failed 0" in ok

        monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-not-the-key")
        _sync_once(db, default_ws.id, hours=2)
        at.run()
        assert not at.exception
        err = _texts(at, "error").replace("\\", "")
        assert "Last sync failed at" in err and "refused the keys" in err and "sk-lf-not-the-key" not in err


def test_a_member_switches_it_on_a_viewer_cannot(app_as, db, admin, default_ws, analyst):
    at = app_as("ana", page=PAGE)
    at.toggle(key="sync_on").set_value(True)
    at.number_input(key="sync_minutes").set_value(15.0)
    next(b for b in at.button if b.label == "Save schedule").click()
    at.run()
    assert not at.exception
    assert "Langfuse sync every 15 minutes." in _texts(at, "success")
    assert "every 15 minutes, as **ana**" in _texts(at, "markdown")
    assert "Langfuse is not configured" in _texts(at, "warning")  # each run would fail: said up front
    assert "does not run scheduled syncs" in _texts(at, "warning")  # no server scheduler in this test process
    status = sync.status(db, admin, default_ws.id)
    assert status.every_minutes == 15 and status.run_as == "ana"

    auth.create_user(db, admin, "vic", PASSWORD, "viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    viewer = app_as("vic", page=PAGE)
    assert not viewer.exception
    assert "every 15 minutes" in _texts(viewer, "markdown")
    assert "cannot change this setting" in _texts(viewer, "caption")
    with pytest.raises(KeyError):
        viewer.toggle(key="sync_on")
