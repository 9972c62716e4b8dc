"""Scheduled Langfuse sync settings and last results, per workspace (the rules live in forge.sync)."""

from __future__ import annotations

from datetime import datetime

from forge.store import utcnow
from forge.store.access import Access
from forge.store.db import Database

_COLS = (
    "workspace_id, every_seconds, run_as, updated_by, updated_at, job_id, last_started_at, last_finished_at,"
    " last_status, last_imported, last_updated, last_skipped, last_failed, last_error"
)
_NAMES = [c.strip() for c in _COLS.split(",")]


def _row(values) -> dict | None:
    return dict(zip(_NAMES, values, strict=True)) if values else None


def get_sync(access: Access) -> dict | None:
    """The workspace's sync setting and last result, or None when it was never set."""
    access.need("read")
    row = _row(access.db.fetchone(f"SELECT {_COLS} FROM langfuse_sync WHERE workspace_id = ?", [access.workspace_id]))
    if row and row["run_as"]:
        row["run_as_username"] = access.db.scalar("SELECT username FROM users WHERE id = ?", [row["run_as"]])
    return row


def set_sync(access: Access, every_seconds: float | None) -> None:
    """Switch the sync on (every ``every_seconds``, as the access's user) or off (None)."""
    access.need("import")
    access.db.execute(
        "INSERT INTO langfuse_sync (workspace_id, every_seconds, run_as, updated_by, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (workspace_id) DO UPDATE SET every_seconds = excluded.every_seconds,"
        " run_as = excluded.run_as, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        [access.workspace_id, every_seconds, access.user.id, access.user.id, utcnow()],
    )


def scheduled(db: Database) -> list[dict]:
    """Every workspace with the sync on, with the username it runs as (for the scheduler)."""
    rows = db.fetchall(
        f"SELECT {', '.join('s.' + n for n in _NAMES)}, u.username FROM langfuse_sync s"
        " LEFT JOIN users u ON u.id = s.run_as WHERE s.every_seconds IS NOT NULL"
    )
    return [{**_row(r[:-1]), "run_as_username": r[-1]} for r in rows]


def record_start(db: Database, workspace_id: str, job_id: str | None, started_at: datetime) -> None:
    db.execute(
        "UPDATE langfuse_sync SET job_id = ?, last_started_at = ? WHERE workspace_id = ?",
        [job_id, started_at, workspace_id],
    )


def record_result(
    db: Database,
    workspace_id: str,
    status: str,
    counts: dict | None,
    error: str | None,
    finished_at: datetime | None = None,
) -> None:
    """The outcome of the last run: counts from the import summary, or the error that stopped it."""
    counts = counts or {}
    db.execute(
        "UPDATE langfuse_sync SET job_id = NULL, last_finished_at = ?, last_status = ?, last_imported = ?,"
        " last_updated = ?, last_skipped = ?, last_failed = ?, last_error = ? WHERE workspace_id = ?",
        [
            finished_at or utcnow(),
            status,
            counts.get("imported"),
            counts.get("updated"),
            counts.get("skipped"),
            counts.get("failed"),
            error,
            workspace_id,
        ],
    )


def job_outcome(db: Database, job_id: str) -> tuple[str, object, str | None] | None:
    """(status, result, error) of a job by id, or None when there is no such job."""
    row = db.fetchone("SELECT status, result, error FROM jobs WHERE id = ?", [job_id])
    return (row[0], row[1], row[2]) if row else None
