"""Eval sets and ratings: storage only (rating values are checked in forge.review.ratings)."""

from __future__ import annotations

from typing import Literal

import pyarrow as pa

from forge.store import new_id, utcnow
from forge.store.access import Access


def _eval_set(row) -> dict:
    return dict(zip(("id", "workspace_id", "name", "criterion", "created_by", "created_at"), row, strict=True))


def get_or_create_eval_set(access: Access, name: str, criterion: str = "") -> dict:
    """The eval set called ``name`` in the workspace, created when missing (needs ``rate``)."""
    access.need("rate")
    workspace_id = access.workspace_id

    def txn(cur):
        row = cur.execute(
            "SELECT id, workspace_id, name, criterion, created_by, created_at FROM eval_sets"
            " WHERE workspace_id = ? AND name = ?",
            [workspace_id, name],
        ).fetchone()
        if row:
            return _eval_set(row)
        es = (new_id(), workspace_id, name, criterion, access.user.id, utcnow())
        cur.execute(
            "INSERT INTO eval_sets (id, workspace_id, name, criterion, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            list(es),
        )
        return _eval_set(es)

    return access.db.write(txn)


def eval_set_exists(access: Access, eval_set_id: str) -> bool:
    """True when ``eval_set_id`` is an eval set of this workspace."""
    access.need("read")
    return bool(
        access.db.scalar(
            "SELECT count(*) FROM eval_sets WHERE id = ? AND workspace_id = ?", [eval_set_id, access.workspace_id]
        )
    )


def list_eval_sets(access: Access) -> list[dict]:
    """The workspace's eval sets with how many ratings each holds, by name."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT e.id, e.workspace_id, e.name, e.criterion, e.created_by, e.created_at,"
        " count(r.id) AS ratings FROM eval_sets e LEFT JOIN ratings r ON r.eval_set_id = e.id"
        " WHERE e.workspace_id = ? GROUP BY ALL ORDER BY e.name",
        [access.workspace_id],
    )


def upsert_ratings(access: Access, eval_set_id: str, rows: list[dict]) -> int:
    """Store ``[{"trace_id", "rater", "value", "note"}]`` (values already normalised, one per trace and
    rater) in eval set ``eval_set_id``; returns how many were stored. Only this workspace's traces count."""
    access.need("rate")
    if not rows:
        return 0
    workspace_id, now = access.workspace_id, utcnow()
    table = pa.table(
        {
            "id": [new_id() for _ in rows],
            "trace_id": [r["trace_id"] for r in rows],
            "rater": [r["rater"] for r in rows],
            "value": [r["value"] for r in rows],
            "note": pa.array([r["note"] for r in rows], pa.string()),
        }
    )

    def txn(cur):
        cur.register("forge_ratings", table)
        try:
            # Only traces of this workspace may be rated in it.
            cur.execute(
                "INSERT INTO ratings (id, workspace_id, eval_set_id, trace_id, rater, user_id, value, note,"
                " created_at, updated_at)"
                " SELECT r.id, ?, ?, r.trace_id, r.rater, ?, r.value, r.note, ?, ? FROM forge_ratings r"
                " JOIN traces t ON t.id = r.trace_id AND t.workspace_id = ?"
                " ON CONFLICT (eval_set_id, trace_id, rater) DO UPDATE SET value = excluded.value,"
                " note = excluded.note, user_id = excluded.user_id, updated_at = excluded.updated_at",
                [workspace_id, eval_set_id, access.user.id, now, now, workspace_id],
            )
            return cur.fetchone()[0]
        finally:
            cur.unregister("forge_ratings")

    return access.db.write(txn)


_ORDERS = {"newest": "r.updated_at DESC, e.name", "eval_set": "e.name, r.rater"}


def ratings_for_trace(access: Access, trace_id: str, order: Literal["newest", "eval_set"] = "newest") -> list[dict]:
    """Every rating of one trace with its eval set's name: newest first, or by eval set and rater."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT r.id, r.eval_set_id, e.name AS eval_set, r.trace_id, r.rater, r.user_id, r.value, r.note,"
        " r.created_at, r.updated_at FROM ratings r LEFT JOIN eval_sets e ON e.id = r.eval_set_id"
        f" WHERE r.workspace_id = ? AND r.trace_id = ? ORDER BY {_ORDERS[order]}",
        [access.workspace_id, trace_id],
    )


def set_ratings(access: Access, eval_set_id: str) -> list[dict]:
    """Every rating in one eval set: trace_id, rater, value, note, criterion_version, updated_at."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT r.trace_id, r.rater, r.value, r.note, r.criterion_version, r.updated_at FROM ratings r"
        " WHERE r.workspace_id = ? AND r.eval_set_id = ? ORDER BY r.trace_id, r.rater",
        [access.workspace_id, eval_set_id],
    )


def resolutions(access: Access, eval_set_id: str) -> dict[str, dict]:
    """{trace_id: {value, note, kind, resolved_by, resolved_at}}: labels an analyst settled on."""
    access.need("read")
    rows = access.db.fetchdicts(
        "SELECT trace_id, value, note, kind, resolved_by, resolved_at FROM rating_resolutions"
        " WHERE workspace_id = ? AND eval_set_id = ?",
        [access.workspace_id, eval_set_id],
    )
    return {r.pop("trace_id"): r for r in rows}


def resolve(access: Access, eval_set_id: str, trace_id: str, value: str, note: str | None, kind: str) -> None:
    """Settle the human label of one trace (``kind`` 'resolved' or 'label-wrong'); needs ``edit``."""
    access.need("edit")

    def txn(cur):
        cur.execute(
            "INSERT INTO rating_resolutions (eval_set_id, trace_id, workspace_id, value, note, kind, resolved_by,"
            " resolved_at) SELECT ?, t.id, ?, ?, ?, ?, ?, ? FROM traces t WHERE t.id = ? AND t.workspace_id = ?"
            " ON CONFLICT (eval_set_id, trace_id) DO UPDATE SET value = excluded.value, note = excluded.note,"
            " kind = excluded.kind, resolved_by = excluded.resolved_by, resolved_at = excluded.resolved_at",
            [
                eval_set_id,
                access.workspace_id,
                value,
                note,
                kind,
                access.user.username,
                utcnow(),
                trace_id,
                access.workspace_id,
            ],
        )

    access.db.write(txn)


def unresolve(access: Access, eval_set_id: str, trace_id: str) -> None:
    """Drop a resolution: the majority of the raters decides again; needs ``edit``."""
    access.need("edit")
    access.db.execute(
        "DELETE FROM rating_resolutions WHERE workspace_id = ? AND eval_set_id = ? AND trace_id = ?",
        [access.workspace_id, eval_set_id, trace_id],
    )
