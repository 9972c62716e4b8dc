"""Evals and their versions: lineage (a refinement's parent), the current version, generation and metrics JSON.

Every new version becomes the eval's current one; rolling back points ``current_version`` at an older
version (nothing is deleted). ``generation`` holds how a version was made (tokens, cost, time, status),
``metrics`` its held-out figures at creation. ``eval_generations`` keeps one row per generation or
synthesis over a set, with the figures of the chosen set as a whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
    prompt: str | None = None
    parent_version: int | None = None
    note: str | None = None
    generation: dict[str, Any] | None = field(default=None, compare=False)
    metrics: dict[str, Any] | None = field(default=None, compare=False)


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
    current_version: int | None = None  # None on rows made before versions had a current one: the latest


def _check_source(source: str) -> None:
    if not isinstance(source, str) or not source.strip():
        raise EvalError("Eval source is empty.")
    if len(source.encode("utf-8")) > MAX_SOURCE_BYTES:
        raise EvalError(f"Eval source is larger than {MAX_SOURCE_BYTES // 1024} KB.")


def _eval_set_in(db: Database, workspace_id: str, eval_set_id: str) -> None:
    if not db.scalar("SELECT count(*) FROM eval_sets WHERE id = ? AND workspace_id = ?", [eval_set_id, workspace_id]):
        raise EvalError("No such eval set in this workspace.")


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def _loads(value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return None


def create_eval(
    access: Access,
    eval_set_id: str,
    name: str,
    source: str,
    origin: str = "manual",
    description: str | None = None,
    model: str | None = None,
    prompt: str | None = None,
    *,
    status: str = "candidate",
    note: str | None = None,
    generation: dict | None = None,
    metrics: dict | None = None,
) -> Eval:
    """A new eval with its first version (current)."""
    access.need("edit")
    db, actor, workspace_id = access.db, access.user, access.workspace_id
    if origin not in ORIGINS:
        raise EvalError(f"origin must be one of {ORIGINS}")
    if status not in STATUSES:
        raise EvalError(f"status must be one of {STATUSES}")
    _check_source(source)
    _eval_set_in(db, workspace_id, eval_set_id)
    eval_id, now = new_id(), utcnow()

    def txn(cur):
        if cur.execute("SELECT 1 FROM evals WHERE eval_set_id = ? AND name = ?", [eval_set_id, name]).fetchone():
            raise EvalError(f"An eval named '{name}' already exists in this eval set.")
        cur.execute(
            "INSERT INTO evals (id, workspace_id, eval_set_id, name, origin, status, description,"
            " created_by, created_at, current_version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
            [eval_id, workspace_id, eval_set_id, name, origin, status, description, actor.id, now, now],
        )
        cur.execute(
            "INSERT INTO eval_versions (id, eval_id, version, source, model, prompt, created_by, created_at,"
            " note, generation, metrics) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
            [new_id(), eval_id, source, model, prompt, actor.id, now, note, _json(generation), _json(metrics)],
        )

    db.write(txn)
    return get_eval(access, eval_id)


def unused_name(access: Access, eval_set_id: str, name: str) -> str:
    """``name``, or ``name_2``, ``name_3``... whichever is not yet an eval of the set."""
    access.need("read")
    taken = {
        r[0]
        for r in access.db.fetchall(
            "SELECT name FROM evals WHERE eval_set_id = ? AND workspace_id = ?", [eval_set_id, access.workspace_id]
        )
    }
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def add_version(
    access: Access,
    eval_id: str,
    source: str,
    model: str | None = None,
    prompt: str | None = None,
    *,
    parent_version: int | None = None,
    note: str | None = None,
    generation: dict | None = None,
    metrics: dict | None = None,
) -> EvalVersion:
    """A new version of an eval's code, made current (the old ones and their results are kept)."""
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
        if (
            parent_version is not None
            and not cur.execute(
                "SELECT 1 FROM eval_versions WHERE eval_id = ? AND version = ?", [eval_id, parent_version]
            ).fetchone()
        ):
            raise EvalError(f"The eval has no version {parent_version} to derive from.")
        cur.execute(
            "INSERT INTO eval_versions (id, eval_id, version, source, model, prompt, created_by, created_at,"
            " parent_version, note, generation, metrics) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                vid,
                eval_id,
                n,
                source,
                model,
                prompt,
                actor.id,
                utcnow(),
                parent_version,
                note,
                _json(generation),
                _json(metrics),
            ],
        )
        cur.execute("UPDATE evals SET current_version = ?, updated_at = ? WHERE id = ?", [n, utcnow(), eval_id])

    db.write(txn)
    return _version(db, vid)


def set_current_version(access: Access, eval_id: str, version: int) -> None:
    """Point the eval at one of its versions (roll back, or forward again)."""
    access.need("edit")
    if get_eval(access, eval_id) is None:
        raise EvalError("No such eval in this workspace.")
    if not access.db.scalar(
        "SELECT count(*) FROM eval_versions WHERE eval_id = ? AND version = ?", [eval_id, int(version)]
    ):
        raise EvalError(f"The eval has no version {version}.")
    access.db.execute(
        "UPDATE evals SET current_version = ?, updated_at = ? WHERE id = ? AND workspace_id = ?",
        [int(version), utcnow(), eval_id, access.workspace_id],
    )


def set_version_metrics(access: Access, version_id: str, metrics: dict) -> None:
    """Replace a version's metrics JSON (e.g. after a fresh held-out evaluation)."""
    access.need("edit")
    access.db.execute(
        "UPDATE eval_versions SET metrics = ? WHERE id = ?"
        " AND eval_id IN (SELECT id FROM evals WHERE workspace_id = ?)",
        [_json(metrics), version_id, access.workspace_id],
    )


def set_status(access: Access, eval_id: str, status: str) -> None:
    access.need("edit")
    if status not in STATUSES:
        raise EvalError(f"status must be one of {STATUSES}")
    access.db.execute(
        "UPDATE evals SET status = ? WHERE id = ? AND workspace_id = ?", [status, eval_id, access.workspace_id]
    )


_EVAL_SQL = (
    "SELECT e.id, e.workspace_id, e.eval_set_id, e.name, e.origin, e.status, e.description,"
    " (SELECT max(version) FROM eval_versions v WHERE v.eval_id = e.id), e.current_version FROM evals e"
)


def get_eval(access: Access, eval_id: str) -> Eval | None:
    access.need("read")
    row = access.db.fetchone(_EVAL_SQL + " WHERE e.id = ? AND e.workspace_id = ?", [eval_id, access.workspace_id])
    return Eval(*row) if row else None


def list_evals(access: Access, eval_set_id: str | None = None, status: str | None = None) -> list[Eval]:
    access.need("read")
    sql, params = _EVAL_SQL + " WHERE e.workspace_id = ?", [access.workspace_id]
    if eval_set_id:
        sql, params = sql + " AND e.eval_set_id = ?", params + [eval_set_id]
    if status:
        sql, params = sql + " AND e.status = ?", params + [status]
    return [Eval(*r) for r in access.db.fetchall(sql + " ORDER BY e.created_at, e.name", params)]


_VERSION_COLUMNS = "id, eval_id, version, source, model, created_at, prompt, parent_version, note, generation, metrics"


def _version_of(row) -> EvalVersion:
    values = list(row)
    values[9], values[10] = _loads(values[9]), _loads(values[10])
    return EvalVersion(*values)


def versions(access: Access, eval_id: str) -> list[EvalVersion]:
    """Every version of an eval, oldest first."""
    if get_eval(access, eval_id) is None:
        return []
    return [
        _version_of(r)
        for r in access.db.fetchall(
            f"SELECT {_VERSION_COLUMNS} FROM eval_versions WHERE eval_id = ? ORDER BY version", [eval_id]
        )
    ]


def get_version(access: Access, eval_id: str, version: int | None = None) -> EvalVersion | None:
    """One version of an eval; without ``version`` its current one."""
    ev = get_eval(access, eval_id)
    if ev is None:
        return None
    number = version if version is not None else (ev.current_version or ev.latest_version)
    row = access.db.fetchone(
        f"SELECT {_VERSION_COLUMNS} FROM eval_versions WHERE eval_id = ? AND version = ?", [eval_id, number]
    )
    return _version_of(row) if row else None


def _version(db: Database, version_id: str) -> EvalVersion:
    return _version_of(db.fetchone(f"SELECT {_VERSION_COLUMNS} FROM eval_versions WHERE id = ?", [version_id]))


def evals_with_current(access: Access, eval_set_id: str, status: str | None = None) -> list[dict]:
    """The set's evals, each with its current version's number, id, source, model, generation and metrics."""
    access.need("read")
    sql = (
        "SELECT e.id, e.name, e.origin, e.status, e.description, e.created_at,"
        " coalesce(e.current_version, (SELECT max(version) FROM eval_versions x WHERE x.eval_id = e.id)) AS version,"
        " (SELECT max(version) FROM eval_versions x WHERE x.eval_id = e.id) AS latest_version,"
        " v.id AS version_id, v.source, v.model, v.prompt, v.parent_version, v.note, v.generation, v.metrics"
        " FROM evals e JOIN eval_versions v ON v.eval_id = e.id AND v.version ="
        " coalesce(e.current_version, (SELECT max(version) FROM eval_versions x WHERE x.eval_id = e.id))"
        " WHERE e.workspace_id = ? AND e.eval_set_id = ?"
    )
    params: list = [access.workspace_id, eval_set_id]
    if status:
        sql, params = sql + " AND e.status = ?", params + [status]
    rows = access.db.fetchdicts(sql + " ORDER BY e.status = 'kept' DESC, e.created_at, e.name", params)
    for row in rows:
        row["generation"], row["metrics"] = _loads(row["generation"]), _loads(row["metrics"])
    return rows


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


# ---------------------------------------------------------------- generations (set-level figures)


def record_generation(
    access: Access, eval_set_id: str, kind: str, model: str | None, status: str, summary: dict
) -> str:
    """Keep one generation or synthesis over a set with its summary; returns its id."""
    access.need("edit")
    _eval_set_in(access.db, access.workspace_id, eval_set_id)
    gid = new_id()
    access.db.execute(
        "INSERT INTO eval_generations (id, workspace_id, eval_set_id, kind, model, status, summary, created_by,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [gid, access.workspace_id, eval_set_id, kind, model, status, _json(summary), access.user.id, utcnow()],
    )
    return gid


def list_generations(access: Access, eval_set_id: str, limit: int = 20) -> list[dict]:
    """The set's generations and syntheses, newest first, each with its summary."""
    access.need("read")
    rows = access.db.fetchdicts(
        "SELECT id, kind, model, status, summary, created_by, created_at FROM eval_generations"
        " WHERE workspace_id = ? AND eval_set_id = ? ORDER BY created_at DESC LIMIT ?",
        [access.workspace_id, eval_set_id, int(limit)],
    )
    for row in rows:
        row["summary"] = _loads(row["summary"])
    return rows
