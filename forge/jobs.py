"""Long work with progress: imports, generation and eval runs run as jobs.

A job runs in a background thread of this process and keeps its status,
progress, result and error in the ``jobs`` table, so any page (or a later
session) can show it while the analyst keeps working. A job's failure is
recorded as data; it never propagates into the app.

Only one process can hold the DuckDB file read-write, so a job that is still
``queued``/``running`` in the table but has no live thread here was cut off by
a restart: it is marked failed ("interrupted") the next time jobs are listed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from forge import auth, config
from forge.store import Database
from forge.store import jobs as job_store
from forge.store.access import Access
from forge.store.jobs import ACTIVE, Job
from forge.store.types import Progress

__all__ = [
    "ACTIVE",
    "INTERRUPTED",
    "Cancelled",
    "Job",
    "JobKind",
    "Progress",
    "active",
    "cancel",
    "get",
    "recent",
    "register",
    "start",
    "submit",
    "wait",
]

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted: the app restarted before this job finished"
# Progress is written at most this often (seconds), plus always at the end of a total.
_PROGRESS_EVERY = 0.25


class Cancelled(Exception):
    """Raised inside a job's progress callback once someone asked to cancel it."""


@dataclass(frozen=True)
class JobKind:
    """A kind of job a feature registers: ``run(access, progress, **params)`` does the work.

    ``actions`` are checked when the job is submitted and again when it starts (a user
    demoted in between loses the right); ``needs(params)`` may add actions per job.
    """

    name: str
    run: Callable[..., Any]
    action: str = "import"
    needs: Callable[[dict], tuple[str, ...]] = lambda params: ()
    message: Callable[[dict], str] = lambda params: "Queued"
    # What of the params the job row keeps (shown on the Import page): by default the ones set.
    shown: Callable[[dict], dict] = lambda params: {k: v for k, v in params.items() if v is not None}


_kinds: dict[str, JobKind] = {}

# Jobs whose thread lives in this process, and cancel requests for them.
_live: dict[str, threading.Thread] = {}
_cancel: set[str] = set()
_lock = threading.Lock()


def register(kind: JobKind) -> JobKind:
    """Make ``kind`` startable with :func:`submit`; a feature calls this once at import."""
    _kinds[kind.name] = kind
    return kind


def _as_json(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, default=str)


def _check(db: Database, actor: auth.User, workspace_id: str, actions: tuple[str, ...]) -> Access:
    access = auth.access(db, actor, workspace_id, actions[0])
    for action in actions[1:]:
        access.need(action)
    return access


def submit(db: Database, actor: auth.User, workspace_id: str, kind: str, **params: Any) -> Job:
    """Queue a job of a registered ``kind`` with ``params``; returns the queued job."""
    spec = _kinds[kind]
    actions = (spec.action, *spec.needs(params))
    access = _check(db, actor, workspace_id, actions)

    def work(progress: Progress) -> Any:
        # Checked again as the job starts: the user may have been demoted or removed meanwhile.
        started = _check(db, actor, workspace_id, actions)
        return spec.run(started, progress, **params)

    return _start(access, kind, work, spec.shown(params), spec.message(params))


def start(
    db: Database,
    actor: auth.User,
    workspace_id: str,
    kind: str,
    work: Callable[[Progress], Any],
    params: dict | None = None,
    action: str = "import",
    message: str | None = None,
) -> Job:
    """Run ``work(progress)`` in a background thread as a job; returns the queued job.

    ``work`` returns the job's result (a dict, a dataclass or anything with
    ``to_dict()``); what it raises becomes the job's error.
    """
    return _start(auth.access(db, actor, workspace_id, action), kind, work, params, message)


def _start(access: Access, kind: str, work: Callable[[Progress], Any], params: dict | None, message: str | None) -> Job:
    with _lock:
        job_id = job_store.insert_job(access, kind, message or "Queued", _as_json(params))
        thread = threading.Thread(
            target=_run, args=(access.db, job_id, work), name=f"forge-job-{kind}-{job_id}", daemon=True
        )
        _live[job_id] = thread
    thread.start()
    return job_store.get_job(access, job_id)


def _run(db: Database, job_id: str, work: Callable[[Progress], Any]) -> None:
    last = [0.0]

    def progress(done: int, total: int | None = None, message: str | None = None) -> None:
        if job_id in _cancel:
            raise Cancelled("Cancelled by a user.")
        now = time.monotonic()
        if now - last[0] < _PROGRESS_EVERY and not (total and done >= total):
            return
        last[0] = now
        job_store.set_progress(db, job_id, done, total, message)

    try:
        job_store.set_running(db, job_id)
        result = work(progress)
        job_store.set_done(db, job_id, _as_json(result))
    except Cancelled as exc:
        _finish_failed(db, job_id, "cancelled", str(exc))
    except BaseException as exc:  # a job's failure is data, never a crash of the app
        # The server log gets the trace, with any configured key redacted like the stored message.
        tb = "".join(traceback.format_exception(exc))
        log.error("job %s failed: %s", job_id, config.redact(tb))
        _finish_failed(db, job_id, "failed", _describe(exc))
    finally:
        with _lock:
            _live.pop(job_id, None)
            _cancel.discard(job_id)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, (ValueError, auth.AuthError, OSError)) else f"{type(exc).__name__}: {text}"


def _finish_failed(db: Database, job_id: str, status: str, error: str) -> None:
    try:
        job_store.set_failed(
            db,
            job_id,
            status,
            (config.redact(error) or "")[:4000],
            "Cancelled" if status == "cancelled" else "Failed",
        )
    except Exception:  # the database itself is gone (e.g. closed at shutdown)
        log.exception("could not record the end of job %s", job_id)


def mark_interrupted(db: Database, workspace_id: str | None = None) -> int:
    """Mark queued/running jobs with no live thread in this process as failed; returns how many."""
    with _lock:
        live = set(_live)
        stale = [j for j in job_store.active_job_ids(db, workspace_id) if j not in live]
        for job_id in stale:
            job_store.mark_failed_if_active(db, job_id, INTERRUPTED)
    return len(stale)


def get(db: Database, actor: auth.User, workspace_id: str, job_id: str) -> Job | None:
    return job_store.get_job(auth.access(db, actor, workspace_id, "read"), job_id)


def recent(
    db: Database, actor: auth.User, workspace_id: str, limit: int = 20, kinds: tuple[str, ...] | None = None
) -> list[Job]:
    """The workspace's latest jobs, newest first (stale ones marked interrupted)."""
    access = auth.access(db, actor, workspace_id, "read")
    mark_interrupted(db, workspace_id)
    return job_store.recent_jobs(access, limit, kinds)


def active(db: Database, actor: auth.User, workspace_id: str) -> list[Job]:
    return [j for j in recent(db, actor, workspace_id, limit=50) if j.active]


def cancel(db: Database, actor: auth.User, workspace_id: str, job_id: str) -> bool:
    """Ask a running job to stop at its next progress report; True if it was running here."""
    access = auth.access(db, actor, workspace_id, "read")
    job = job_store.get_job(access, job_id)
    access.need("import")
    with _lock:
        if job is None or job_id not in _live:
            return False
        _cancel.add(job_id)
    return True


def wait(db: Database, actor: auth.User, workspace_id: str, job_id: str, timeout: float = 60.0) -> Job:
    """Block until the job ends (or ``timeout`` seconds pass); for the CLI and tests."""
    with _lock:
        thread = _live.get(job_id)
    if thread is not None:
        thread.join(timeout)
    return get(db, actor, workspace_id, job_id)
