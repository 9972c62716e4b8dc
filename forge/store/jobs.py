"""Jobs: one row per piece of long work, with its status, progress, result and error.

A job's own bookkeeping (progress, end) is written by the thread running it, by job id;
reading jobs needs an ``Access`` to their workspace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forge.store import new_id, utcnow
from forge.store.access import Access
from forge.store.db import Database

ACTIVE = ("queued", "running")

_COLS = (
    "id, workspace_id, user_id, kind, status, done, total, message, params, result, error,"
    " created_at, started_at, finished_at"
)


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


def _job(row) -> Job:
    values = list(row)
    for i in (8, 9):  # params, result are JSON columns
        if isinstance(values[i], str):
            try:
                values[i] = json.loads(values[i])
            except ValueError:
                pass
    return Job(*values)


def insert_job(access: Access, kind: str, message: str, params_json: str | None) -> str:
    """A queued job of ``kind`` in the workspace, by the access's user; its id."""
    job_id = new_id()
    access.db.execute(
        "INSERT INTO jobs (id, workspace_id, user_id, kind, status, message, params, created_at)"
        " VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
        [job_id, access.workspace_id, access.user.id, kind, message, params_json, utcnow()],
    )
    return job_id


def set_running(db: Database, job_id: str) -> None:
    db.execute(
        "UPDATE jobs SET status = 'running', started_at = ?, message = 'Started' WHERE id = ?", [utcnow(), job_id]
    )


def set_progress(db: Database, job_id: str, done: int, total: int | None, message: str | None) -> None:
    db.execute(
        "UPDATE jobs SET done = ?, total = coalesce(?, total), message = coalesce(?, message) WHERE id = ?",
        [int(done), total, message, job_id],
    )


def set_done(db: Database, job_id: str, result_json: str | None) -> None:
    db.execute(
        "UPDATE jobs SET status = 'done', result = ?, finished_at = ?,"
        " done = CASE WHEN total IS NULL THEN done ELSE greatest(done, total) END,"
        " message = 'Finished' WHERE id = ?",
        [result_json, utcnow(), job_id],
    )


def set_failed(db: Database, job_id: str, status: str, error: str, message: str) -> None:
    db.execute(
        "UPDATE jobs SET status = ?, error = ?, finished_at = ?, message = ? WHERE id = ?",
        [status, error, utcnow(), message, job_id],
    )


def active_job_ids(db: Database, workspace_id: str | None = None) -> list[str]:
    """Ids of queued or running jobs (of one workspace, or all)."""
    sql = "SELECT id FROM jobs WHERE status IN ('queued', 'running')"
    params: list = []
    if workspace_id:
        sql += " AND workspace_id = ?"
        params.append(workspace_id)
    return [r[0] for r in db.fetchall(sql, params)]


def mark_failed_if_active(db: Database, job_id: str, error: str) -> None:
    db.execute(
        "UPDATE jobs SET status = 'failed', error = ?, finished_at = ?, message = 'Interrupted'"
        " WHERE id = ? AND status IN ('queued', 'running')",
        [error, utcnow(), job_id],
    )


def get_job(access: Access, job_id: str) -> Job | None:
    access.need("read")
    row = access.db.fetchone(
        f"SELECT {_COLS} FROM jobs WHERE id = ? AND workspace_id = ?", [job_id, access.workspace_id]
    )
    return _job(row) if row else None


def recent_jobs(access: Access, limit: int = 20, kinds: tuple[str, ...] | None = None) -> list[Job]:
    """The workspace's latest jobs, newest first."""
    access.need("read")
    sql = f"SELECT {_COLS} FROM jobs WHERE workspace_id = ?"
    params: list = [access.workspace_id]
    if kinds:
        sql += f" AND kind IN ({', '.join('?' for _ in kinds)})"
        params.extend(kinds)
    sql += " ORDER BY created_at DESC, id LIMIT ?"
    return [_job(r) for r in access.db.fetchall(sql, params + [limit])]
