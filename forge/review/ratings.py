"""Eval sets and ratings: one rater's pass/fail/neutral verdict on a trace for an eval set."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from forge import auth
from forge.auth import User
from forge.store import Database, new_id, utcnow

RATING_VALUES = ("pass", "fail", "neutral")
_ALIASES = {
    "pass": "pass",
    "passed": "pass",
    "up": "pass",
    "thumbs_up": "pass",
    "thumbsup": "pass",
    "good": "pass",
    "yes": "pass",
    "true": "pass",
    "1": "pass",
    "1.0": "pass",
    "👍": "pass",
    "fail": "fail",
    "failed": "fail",
    "down": "fail",
    "thumbs_down": "fail",
    "thumbsdown": "fail",
    "bad": "fail",
    "no": "fail",
    "false": "fail",
    "0": "fail",
    "0.0": "fail",
    "👎": "fail",
    "neutral": "neutral",
    "skip": "neutral",
    "unsure": "neutral",
    "meh": "neutral",
}


def normalize_rating(value: Any) -> str:
    """'pass'|'fail'|'neutral' from pass/fail/neutral, up/down, 1/0, true/false; ValueError otherwise."""
    if isinstance(value, bool):
        return "pass" if value else "fail"
    if isinstance(value, (int, float)) and value in (0, 1):
        return "pass" if value == 1 else "fail"
    if isinstance(value, str):
        key = value.strip().lower()
        if key not in _ALIASES and key[:1].isalpha():  # "thumbs up", "Thumbs-Up" (never "-1")
            key = "_".join(key.replace("-", " ").split())
        if key in _ALIASES:
            return _ALIASES[key]
    raise ValueError(f"rating must be pass/fail/neutral, up/down, 1/0 or true/false; got {str(value)[:40]!r}")


def _eval_set(row) -> dict:
    return dict(zip(("id", "workspace_id", "name", "criterion", "created_by", "created_at"), row, strict=True))


def get_or_create_eval_set(db: Database, actor: User, workspace_id: str, name: str, criterion: str = "") -> dict:
    """The eval set called ``name`` in the workspace, created when missing (needs ``rate``)."""
    auth.require(db, actor, workspace_id, "rate")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValueError("An eval set needs a name of 1-200 characters.")

    def txn(cur):
        row = cur.execute(
            "SELECT id, workspace_id, name, criterion, created_by, created_at FROM eval_sets"
            " WHERE workspace_id = ? AND name = ?",
            [workspace_id, name],
        ).fetchone()
        if row:
            return _eval_set(row)
        es = (new_id(), workspace_id, name, criterion or "", actor.id, utcnow())
        cur.execute(
            "INSERT INTO eval_sets (id, workspace_id, name, criterion, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            list(es),
        )
        return _eval_set(es)

    return db.write(txn)


def list_eval_sets(db: Database, actor: User, workspace_id: str) -> list[dict]:
    """The workspace's eval sets with how many ratings each holds, by name."""
    auth.require(db, actor, workspace_id, "read")
    return db.fetchdicts(
        "SELECT e.id, e.workspace_id, e.name, e.criterion, e.created_by, e.created_at,"
        " count(r.id) AS ratings FROM eval_sets e LEFT JOIN ratings r ON r.eval_set_id = e.id"
        " WHERE e.workspace_id = ? GROUP BY ALL ORDER BY e.name",
        [workspace_id],
    )


def upsert_ratings(db: Database, actor: User, workspace_id: str, eval_set_id: str, ratings: list[dict]) -> int:
    """Bulk insert/update ``[{"trace_id", "value", "note"?, "rater"?}]``; returns how many were stored.

    ``value`` goes through :func:`normalize_rating`; ``rater`` defaults to the actor's
    user name (imports pass ``file:<name>`` / ``langfuse:<score>``). One rating per
    (eval set, trace, rater): a later one replaces the earlier.
    """
    auth.require(db, actor, workspace_id, "rate")
    if not db.scalar("SELECT count(*) FROM eval_sets WHERE id = ? AND workspace_id = ?", [eval_set_id, workspace_id]):
        raise ValueError("No such eval set in this workspace.")
    if not ratings:
        return 0
    latest: dict[tuple, dict] = {}
    for r in ratings:
        rater = r.get("rater") or actor.username
        latest[(r["trace_id"], rater)] = {
            "trace_id": r["trace_id"],
            "rater": rater,
            "value": normalize_rating(r["value"]),
            "note": r.get("note") or None,
        }
    rows = list(latest.values())
    now = utcnow()
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
                [workspace_id, eval_set_id, actor.id, now, now, workspace_id],
            )
            return cur.fetchone()[0]
        finally:
            cur.unregister("forge_ratings")

    return db.write(txn)


def ratings_for_trace(db: Database, actor: User, workspace_id: str, trace_id: str) -> list[dict]:
    """Every rating of one trace, with its eval set's name, newest first."""
    auth.require(db, actor, workspace_id, "read")
    return db.fetchdicts(
        "SELECT r.id, r.eval_set_id, e.name AS eval_set, r.trace_id, r.rater, r.user_id, r.value, r.note,"
        " r.created_at, r.updated_at FROM ratings r JOIN eval_sets e ON e.id = r.eval_set_id"
        " WHERE r.workspace_id = ? AND r.trace_id = ? ORDER BY r.updated_at DESC, e.name",
        [workspace_id, trace_id],
    )
