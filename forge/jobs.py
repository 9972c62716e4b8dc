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
from datetime import datetime
from typing import Any

from forge import auth, config
from forge.store import Database, new_id, utcnow

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
INTERRUPTED = "interrupted: the app restarted before this job finished"
# Progress is written at most this often (seconds), plus always at the end of a total.
_PROGRESS_EVERY = 0.25

Progress = Callable[[int, "int | None", "str | None"], None]


class Cancelled(Exception):
    """Raised inside a job's progress callback once someone asked to cancel it."""


@dataclass(frozen=True)
class Job:
    id: str
    workspace_id: str
    user_id: str | None
    kind: str
    status: str
    done: int
    total: int | None
    message: str | None
    params: dict | None
    result: Any
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def fraction(self) -> float | None:
        """Share done in [0, 1], or None while the total is unknown."""
        if self.status == "done":
            return 1.0
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))


_COLS = (
    "id, workspace_id, user_id, kind, status, done, total, message, params, result, error,"
    " created_at, started_at, finished_at"
)

# Jobs whose thread lives in this process, and cancel requests for them.
_live: dict[str, threading.Thread] = {}
_cancel: set[str] = set()
_lock = threading.Lock()


def _job(row) -> Job:
    values = list(row)
    for i in (8, 9):  # params, result are JSON columns
        if isinstance(values[i], str):
            try:
                values[i] = json.loads(values[i])
            except ValueError:
                pass
    return Job(*values)


def _as_json(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, default=str)


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
    auth.require(db, actor, workspace_id, action)
    job_id = new_id()
    with _lock:
        db.execute(
            "INSERT INTO jobs (id, workspace_id, user_id, kind, status, message, params, created_at)"
            " VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
            [job_id, workspace_id, actor.id, kind, message or "Queued", _as_json(params), utcnow()],
        )
        thread = threading.Thread(target=_run, args=(db, job_id, work), name=f"forge-job-{kind}-{job_id}", daemon=True)
        _live[job_id] = thread
    thread.start()
    return get(db, actor, workspace_id, job_id)


def _run(db: Database, job_id: str, work: Callable[[Progress], Any]) -> None:
    last = [0.0]

    def progress(done: int, total: int | None = None, message: str | None = None) -> None:
        if job_id in _cancel:
            raise Cancelled("Cancelled by a user.")
        now = time.monotonic()
        if now - last[0] < _PROGRESS_EVERY and not (total and done >= total):
            return
        last[0] = now
        db.execute(
            "UPDATE jobs SET done = ?, total = coalesce(?, total), message = coalesce(?, message) WHERE id = ?",
            [int(done), total, message, job_id],
        )

    try:
        db.execute(
            "UPDATE jobs SET status = 'running', started_at = ?, message = 'Started' WHERE id = ?",
            [utcnow(), job_id],
        )
        result = work(progress)
        db.execute(
            "UPDATE jobs SET status = 'done', result = ?, finished_at = ?,"
            " done = CASE WHEN total IS NULL THEN done ELSE greatest(done, total) END,"
            " message = 'Finished' WHERE id = ?",
            [_as_json(result), utcnow(), job_id],
        )
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
        db.execute(
            "UPDATE jobs SET status = ?, error = ?, finished_at = ?, message = ? WHERE id = ?",
            [
                status,
                (config.redact(error) or "")[:4000],
                utcnow(),
                "Cancelled" if status == "cancelled" else "Failed",
                job_id,
            ],
        )
    except Exception:  # the database itself is gone (e.g. closed at shutdown)
        log.exception("could not record the end of job %s", job_id)


def mark_interrupted(db: Database, workspace_id: str | None = None) -> int:
    """Mark queued/running jobs with no live thread in this process as failed; returns how many."""
    with _lock:
        live = list(_live)
        sql = "SELECT id FROM jobs WHERE status IN ('queued', 'running')"
        params: list = []
        if workspace_id:
            sql += " AND workspace_id = ?"
            params.append(workspace_id)
        stale = [r[0] for r in db.fetchall(sql, params) if r[0] not in live]
        for job_id in stale:
            db.execute(
                "UPDATE jobs SET status = 'failed', error = ?, finished_at = ?, message = 'Interrupted'"
                " WHERE id = ? AND status IN ('queued', 'running')",
                [INTERRUPTED, utcnow(), job_id],
            )
    return len(stale)


def get(db: Database, actor: auth.User, workspace_id: str, job_id: str) -> Job | None:
    auth.require(db, actor, workspace_id, "read")
    row = db.fetchone(f"SELECT {_COLS} FROM jobs WHERE id = ? AND workspace_id = ?", [job_id, workspace_id])
    return _job(row) if row else None


def recent(
    db: Database, actor: auth.User, workspace_id: str, limit: int = 20, kinds: tuple[str, ...] | None = None
) -> list[Job]:
    """The workspace's latest jobs, newest first (stale ones marked interrupted)."""
    auth.require(db, actor, workspace_id, "read")
    mark_interrupted(db, workspace_id)
    sql = f"SELECT {_COLS} FROM jobs WHERE workspace_id = ?"
    params: list = [workspace_id]
    if kinds:
        sql += f" AND kind IN ({', '.join('?' for _ in kinds)})"
        params.extend(kinds)
    sql += " ORDER BY created_at DESC, id LIMIT ?"
    return [_job(r) for r in db.fetchall(sql, params + [limit])]


def active(db: Database, actor: auth.User, workspace_id: str) -> list[Job]:
    return [j for j in recent(db, actor, workspace_id, limit=50) if j.active]


def cancel(db: Database, actor: auth.User, workspace_id: str, job_id: str) -> bool:
    """Ask a running job to stop at its next progress report; True if it was running here."""
    job = get(db, actor, workspace_id, job_id)
    auth.require(db, actor, workspace_id, "import")
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


# ---------------------------------------------------------------- import jobs


def start_file_import(
    db: Database,
    actor: auth.User,
    workspace_id: str,
    uploads: list[tuple[str, bytes]],
    eval_set: str | None = None,
) -> Job:
    """Import uploaded files (name, bytes) as one job; its result is the merged summary."""
    from forge.traces import files

    auth.require(db, actor, workspace_id, "import")
    if eval_set:
        auth.require(db, actor, workspace_id, "rate")
    names = [name for name, _ in uploads]

    def work(progress: Progress) -> dict:
        return files.import_uploads(db, actor, workspace_id, uploads, eval_set=eval_set, progress=progress)

    label = names[0] if len(names) == 1 else f"{len(names)} files"
    return start(
        db,
        actor,
        workspace_id,
        "import",
        work,
        params={"files": names, "eval_set": eval_set},
        message=f"Importing {label}",
    )


def start_langfuse_import(
    db: Database,
    actor: auth.User,
    workspace_id: str,
    since: str | None = None,
    limit: int | None = None,
    score: str | None = None,
    eval_set: str | None = None,
) -> Job:
    """Import new traces from the configured Langfuse as a job."""
    from forge.traces import langfuse

    auth.require(db, actor, workspace_id, "import")

    def work(progress: Progress) -> dict:
        return langfuse.import_langfuse(
            db, actor, workspace_id, since=since, limit=limit, score=score, eval_set=eval_set, progress=progress
        )

    params = {"since": since, "limit": limit, "score": score, "eval_set": eval_set}
    return start(
        db,
        actor,
        workspace_id,
        "import-langfuse",
        work,
        params={k: v for k, v in params.items() if v is not None},
        message="Importing from Langfuse",
    )
