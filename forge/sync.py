"""Scheduled Langfuse sync: "import from Langfuse every N minutes", per workspace, inside the server.

One scheduler thread (started by forge.ui.server's lifespan) looks at every workspace with
the sync on and, when its interval has passed since the last start and no import of it is
still running, starts the incremental Langfuse import (forge.import_jobs) as a job, with the
rights of the member who switched the sync on (checked again on every run). When the job
ends, its counts or its error become the workspace's last result, shown on the settings page.
An error in one run or one workspace is recorded and the scheduler carries on.

Settings: FORGE_SYNC_MIN_MINUTES (shortest interval allowed, default 1; tests use seconds),
FORGE_SYNC_TICK_S (how often the scheduler looks when nothing is due sooner, default 15).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from forge import auth, config, import_jobs, jobs
from forge.store import Database, utcnow
from forge.store import langfuse_sync as store
from forge.store.jobs import ACTIVE

log = logging.getLogger(__name__)

MAX_MINUTES = 7 * 24 * 60
DEFAULT_TICK_S = 15.0
_RUNNING_POLL_S = 0.5  # while an import runs, how soon its end is noticed


def min_minutes() -> float:
    """The shortest interval allowed (FORGE_SYNC_MIN_MINUTES, default 1 minute)."""
    try:
        value = float(config.get("FORGE_SYNC_MIN_MINUTES") or 1)
    except ValueError:
        return 1.0
    return value if math.isfinite(value) and value > 0 else 1.0


@dataclass(frozen=True)
class SyncStatus:
    """A workspace's sync setting and its last result, for the settings page."""

    every_minutes: float | None  # None: off
    run_as: str | None  # the username whose rights the import uses
    running: bool
    next_run_at: datetime | None
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_status: str | None  # "done" | "failed" | None (never ran)
    imported: int | None
    updated: int | None
    skipped: int | None
    failed: int | None
    error: str | None
    can_change: bool

    @property
    def enabled(self) -> bool:
        return self.every_minutes is not None


def status(db: Database, actor: auth.User, workspace_id: str) -> SyncStatus:
    """The workspace's sync setting and last result (any member may see it)."""
    access = auth.access(db, actor, workspace_id, "read")
    row = store.get_sync(access) or {}
    every = row.get("every_seconds")
    started = row.get("last_started_at")
    next_run = started + timedelta(seconds=every) if every is not None and started else None
    if every is not None and next_run is None:
        next_run = utcnow()  # switched on, not run yet: due now
    return SyncStatus(
        every_minutes=every / 60 if every is not None else None,
        run_as=row.get("run_as_username"),
        running=bool(row.get("job_id")),
        next_run_at=next_run,
        last_started_at=started,
        last_finished_at=row.get("last_finished_at"),
        last_status=row.get("last_status"),
        imported=row.get("last_imported"),
        updated=row.get("last_updated"),
        skipped=row.get("last_skipped"),
        failed=row.get("last_failed"),
        error=row.get("last_error"),
        can_change="import" in access.actions,
    )


def set_schedule(db: Database, actor: auth.User, workspace_id: str, every_minutes: float | None) -> SyncStatus:
    """Switch the sync on (every ``every_minutes``) or off (None): members who may import only.

    The imports then run with ``actor``'s rights. ValueError for an interval out of range.
    """
    access = auth.access(db, actor, workspace_id, "import")
    if every_minutes is not None:
        lowest = min_minutes()
        if isinstance(every_minutes, bool) or not isinstance(every_minutes, (int, float)):
            raise ValueError(f"every_minutes: expected a number of minutes, got {every_minutes!r}")
        if not math.isfinite(every_minutes) or not lowest <= every_minutes <= MAX_MINUTES:
            raise ValueError(f"every_minutes: must be from {lowest:g} to {MAX_MINUTES:,} minutes, got {every_minutes}")
    store.set_sync(access, every_minutes * 60 if every_minutes is not None else None)
    wake()
    return status(db, actor, workspace_id)


# ---------------------------------------------------------------- the scheduler


class Scheduler:
    """The one thread that starts due syncs; ``database`` is the server's Database (or how to open it)."""

    def __init__(self, database: Database | Callable[[], Database], tick_s: float | None = None):
        self._database = database
        self.tick_s = tick_s if tick_s is not None else float(config.get("FORGE_SYNC_TICK_S") or DEFAULT_TICK_S)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0  # passes made (for tests and the log)

    @property
    def db(self) -> Database:
        if not isinstance(self._database, Database):
            self._database = self._database()  # opened in the thread: the server starts without waiting
        return self._database

    def start(self) -> Scheduler:
        global _current
        self._thread = threading.Thread(target=self._loop, name="forge-langfuse-sync", daemon=True)
        self._thread.start()
        _current = self
        return self

    def stop(self, timeout: float = 5.0) -> None:
        global _current
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if _current is self:
            _current = None

    def wake(self) -> None:
        """Look again now (a setting changed)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.run_once()
            except Exception as exc:  # noqa: BLE001 - the database may be busy or closing: try again later
                log.error("langfuse sync pass failed: %s", config.redact(f"{type(exc).__name__}: {exc}"))
                wait = self.tick_s
            self._wake.wait(max(0.05, wait))
            self._wake.clear()

    def run_once(self, now: datetime | None = None) -> float:
        """One pass over every workspace with the sync on; returns the seconds until the next is due."""
        now = now or utcnow()
        self.runs += 1
        wait = self.tick_s
        for row in store.scheduled(self.db):
            try:
                wait = min(wait, self._one(row, now))
            except Exception as exc:  # noqa: BLE001 - one workspace's trouble never stops the others
                message = config.redact(f"{type(exc).__name__}: {exc}") or ""
                log.error("langfuse sync of workspace %s failed: %s", row["workspace_id"], message)
                store.record_result(self.db, row["workspace_id"], "failed", None, message)
        return wait

    def _one(self, row: dict, now: datetime) -> float:
        db, ws = self.db, row["workspace_id"]
        if row["job_id"]:
            jobs.mark_interrupted(db, ws)  # a job cut off by a restart ends as failed, not running forever
            outcome = store.job_outcome(db, row["job_id"])
            if outcome is not None and outcome[0] in ACTIVE:
                return _RUNNING_POLL_S  # no overlapping runs: wait for this one
            self._finish(ws, outcome)
        every = float(row["every_seconds"])
        started = row["last_started_at"]
        if started is not None and (now - started).total_seconds() < every:
            return every - (now - started).total_seconds()
        self._start(row, now)
        return _RUNNING_POLL_S

    def _start(self, row: dict, now: datetime) -> None:
        db, ws = self.db, row["workspace_id"]
        user = auth.get_user(db, row["run_as_username"]) if row["run_as_username"] else None
        try:
            if user is None:
                raise auth.PermissionDenied("the member who switched the sync on no longer exists")
            job = import_jobs.start_langfuse_import(db, user, ws)
        except auth.AuthError as exc:
            store.record_start(db, ws, None, now)
            store.record_result(
                db, ws, "failed", None, f"not started: {exc} - switch the sync on again as a member who may import"
            )
            return
        store.record_start(db, ws, job.id, now)

    def _finish(self, ws: str, outcome: tuple[str, object, str | None] | None) -> None:
        if outcome is None:
            store.record_result(self.db, ws, "failed", None, "the import job disappeared")
            return
        state, result, error = outcome
        counts = result if isinstance(result, dict) else _json_dict(result)
        store.record_result(self.db, ws, "done" if state == "done" else "failed", counts, error)


def _json_dict(value: object) -> dict | None:
    import json

    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


_current: Scheduler | None = None


def scheduler_running() -> bool:
    """Whether this process runs the scheduler (the server does; a bare `streamlit run app.py` does not)."""
    return _current is not None and _current._thread is not None and _current._thread.is_alive()


def wake() -> None:
    """Ask the running scheduler (if any, in this process) to look now."""
    if _current is not None:
        _current.wake()


def start_scheduler(database: Database | Callable[[], Database], tick_s: float | None = None) -> Scheduler:
    """Start the one scheduler of this process (the server's lifespan calls this)."""
    if _current is not None:
        _current.stop()
    return Scheduler(database, tick_s).start()
