"""Evals and their versions: storage only (generation and running come with the eval issues)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from forge import auth
from forge.store import Database, new_id, utcnow

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
    db: Database,
    actor: auth.User,
    workspace_id: str,
    eval_set_id: str,
    name: str,
    source: str,
    origin: str = "manual",
    description: str | None = None,
    model: str | None = None,
    prompt: str | None = None,
) -> Eval:
    """A new eval with its first version."""
    auth.require(db, actor, workspace_id, "edit")
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
    return get_eval(db, actor, workspace_id, eval_id)


def add_version(
    db: Database,
    actor: auth.User,
    workspace_id: str,
    eval_id: str,
    source: str,
    model: str | None = None,
    prompt: str | None = None,
) -> EvalVersion:
    """A new version of an eval's code (the old ones and their results are kept)."""
    auth.require(db, actor, workspace_id, "edit")
    _check_source(source)
    if get_eval(db, actor, workspace_id, eval_id) is None:
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


def set_status(db: Database, actor: auth.User, workspace_id: str, eval_id: str, status: str) -> None:
    auth.require(db, actor, workspace_id, "edit")
    if status not in STATUSES:
        raise EvalError(f"status must be one of {STATUSES}")
    db.execute("UPDATE evals SET status = ? WHERE id = ? AND workspace_id = ?", [status, eval_id, workspace_id])


_EVAL_SQL = (
    "SELECT e.id, e.workspace_id, e.eval_set_id, e.name, e.origin, e.status, e.description,"
    " (SELECT max(version) FROM eval_versions v WHERE v.eval_id = e.id) FROM evals e"
)


def get_eval(db: Database, actor: auth.User, workspace_id: str, eval_id: str) -> Eval | None:
    auth.require(db, actor, workspace_id, "read")
    row = db.fetchone(_EVAL_SQL + " WHERE e.id = ? AND e.workspace_id = ?", [eval_id, workspace_id])
    return Eval(*row) if row else None


def list_evals(db: Database, actor: auth.User, workspace_id: str, eval_set_id: str | None = None) -> list[Eval]:
    auth.require(db, actor, workspace_id, "read")
    sql, params = _EVAL_SQL + " WHERE e.workspace_id = ?", [workspace_id]
    if eval_set_id:
        sql, params = sql + " AND e.eval_set_id = ?", params + [eval_set_id]
    return [Eval(*r) for r in db.fetchall(sql + " ORDER BY e.created_at, e.name", params)]


def versions(db: Database, actor: auth.User, workspace_id: str, eval_id: str) -> list[EvalVersion]:
    if get_eval(db, actor, workspace_id, eval_id) is None:
        return []
    return [
        EvalVersion(*r)
        for r in db.fetchall(
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


def count_evals(db: Database, actor: auth.User, workspace_id: str) -> int:
    auth.require(db, actor, workspace_id, "read")
    return db.scalar("SELECT count(*) FROM evals WHERE workspace_id = ?", [workspace_id])
