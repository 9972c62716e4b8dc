"""Evals and their versions: storage only (generation and running come with the eval issues)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from forge.store import new_id, utcnow
from forge.store.access import Access
from forge.store.db import Database

ORIGINS = ("llm", "synth", "manual")
STATUSES = ("candidate", "kept", "rejected")
MAX_SOURCE_BYTES = 256 * 1024


class EvalError(ValueError):
    """Bad input for an eval (unknown eval set, source too large, bad status...)."""


@dataclass(frozen=True)
class EvalVersion:
    id: str
    eval_id: str
    version: int
    source: str
    model: str | None
    created_at: datetime


@dataclass(frozen=True)
class Eval:
    id: str
    workspace_id: str
    eval_set_id: str
    name: str
    origin: str
    status: str
    description: str | None
    latest_version: int


def _check_source(source: str) -> None:
    if not isinstance(source, str) or not source.strip():
        raise EvalError("Eval source is empty.")
    if len(source.encode("utf-8")) > MAX_SOURCE_BYTES:
        raise EvalError(f"Eval source is larger than {MAX_SOURCE_BYTES // 1024} KB.")


def _eval_set_in(db: Database, workspace_id: str, eval_set_id: str) -> None:
    if not db.scalar("SELECT count(*) FROM eval_sets WHERE id = ? AND workspace_id = ?", [eval_set_id, workspace_id]):
        raise EvalError("No such eval set in this workspace.")


def create_eval(
    access: Access,
    eval_set_id: str,
    name: str,
    source: str,
    origin: str = "manual",
    description: str | None = None,
    model: str | None = None,
    prompt: str | None = None,
) -> Eval:
    """A new eval with its first version."""
    access.need("edit")
    db, actor, workspace_id = access.db, access.user, access.workspace_id
    if origin not in ORIGINS:
        raise EvalError(f"origin must be one of {ORIGINS}")
    _check_source(source)
    _eval_set_in(db, workspace_id, eval_set_id)
    eval_id, now = new_id(), utcnow()

    def txn(cur):
        if cur.execute("SELECT 1 FROM evals WHERE eval_set_id = ? AND name = ?", [eval_set_id, name]).fetchone():
            raise EvalError(f"An eval named '{name}' already exists in this eval set.")
        cur.execute(
            "INSERT INTO evals (id, workspace_id, eval_set_id, name, origin, status, description,"
            " created_by, created_at) VALUES (?, ?, ?, ?, ?, 'candidate', ?, ?, ?)",
            [eval_id, workspace_id, eval_set_id, name, origin, description, actor.id, now],
        )
        cur.execute(
            "INSERT INTO eval_versions (id, eval_id, version, source, model, prompt, created_by, created_at)"
            " VALUES (?, ?, 1, ?, ?, ?, ?, ?)",
            [new_id(), eval_id, source, model, prompt, actor.id, now],
        )

    db.write(txn)
    return get_eval(access, eval_id)


def add_version(
    access: Access,
    eval_id: str,
    source: str,
    model: str | None = None,
    prompt: str | None = None,
) -> EvalVersion:
    """A new version of an eval's code (the old ones and their results are kept)."""
    access.need("edit")
    db, actor = access.db, access.user
    _check_source(source)
    if get_eval(access, eval_id) is None:
        raise EvalError("No such eval in this workspace.")
    vid = new_id()

    def txn(cur):
        n = cur.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM eval_versions WHERE eval_id = ?", [eval_id]
        ).fetchone()[0]
        cur.execute(
            "INSERT INTO eval_versions (id, eval_id, version, source, model, prompt, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [vid, eval_id, n, source, model, prompt, actor.id, utcnow()],
        )

    db.write(txn)
    return _version(db, vid)


def set_status(access: Access, eval_id: str, status: str) -> None:
    access.need("edit")
    if status not in STATUSES:
        raise EvalError(f"status must be one of {STATUSES}")
    access.db.execute(
        "UPDATE evals SET status = ? WHERE id = ? AND workspace_id = ?", [status, eval_id, access.workspace_id]
    )


_EVAL_SQL = (
    "SELECT e.id, e.workspace_id, e.eval_set_id, e.name, e.origin, e.status, e.description,"
    " (SELECT max(version) FROM eval_versions v WHERE v.eval_id = e.id) FROM evals e"
)


def get_eval(access: Access, eval_id: str) -> Eval | None:
    access.need("read")
    row = access.db.fetchone(_EVAL_SQL + " WHERE e.id = ? AND e.workspace_id = ?", [eval_id, access.workspace_id])
    return Eval(*row) if row else None


def list_evals(access: Access, eval_set_id: str | None = None) -> list[Eval]:
    access.need("read")
    sql, params = _EVAL_SQL + " WHERE e.workspace_id = ?", [access.workspace_id]
    if eval_set_id:
        sql, params = sql + " AND e.eval_set_id = ?", params + [eval_set_id]
    return [Eval(*r) for r in access.db.fetchall(sql + " ORDER BY e.created_at, e.name", params)]


def versions(access: Access, eval_id: str) -> list[EvalVersion]:
    if get_eval(access, eval_id) is None:
        return []
    return [
        EvalVersion(*r)
        for r in access.db.fetchall(
            "SELECT id, eval_id, version, source, model, created_at FROM eval_versions"
            " WHERE eval_id = ? ORDER BY version",
            [eval_id],
        )
    ]


def _version(db: Database, version_id: str) -> EvalVersion:
    return EvalVersion(
        *db.fetchone(
            "SELECT id, eval_id, version, source, model, created_at FROM eval_versions WHERE id = ?",
            [version_id],
        )
    )


def count_evals(access: Access) -> int:
    access.need("read")
    return access.db.scalar("SELECT count(*) FROM evals WHERE workspace_id = ?", [access.workspace_id])


def verdicts_for_trace(access: Access, trace_id: str) -> list[dict]:
    """Every eval result on one trace, with its eval set, eval, status and version; newest version first."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT s.name AS eval_set, e.name AS eval, e.status, v.version, x.verdict, x.reason, x.error,"
        " x.duration_ms, x.created_at FROM eval_results x"
        " JOIN eval_versions v ON v.id = x.eval_version_id JOIN evals e ON e.id = v.eval_id"
        " LEFT JOIN eval_sets s ON s.id = e.eval_set_id"
        " WHERE x.trace_id = ? AND x.workspace_id = ? ORDER BY s.name, e.name, v.version DESC",
        [trace_id, access.workspace_id],
    )
