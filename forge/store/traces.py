"""Traces, write side: bulk upsert of unified traces, fetch one, delete; import cursors.

Bulk upsert goes through one Arrow table per batch and a single
``INSERT … SELECT … ON CONFLICT DO UPDATE``: row-by-row inserts are ~50x slower.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from forge import auth
from forge.auth import User
from forge.store import Database, new_id, utcnow
from forge.traces.model import parse_time, step_models, token_totals

_JSON_COLS = ("input", "output", "steps", "metadata")
_COLS = (
    "source",
    "source_id",
    "name",
    "timestamp",
    "input",
    "output",
    "input_text",
    "output_text",
    "steps",
    "metadata",
    "tags",
    "models",
    "user_id",
    "session_id",
    "latency_ms",
    "cost_usd",
    "input_tokens",
    "output_tokens",
)
_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("source_id", pa.string()),
        ("name", pa.string()),
        ("timestamp", pa.timestamp("us")),
        ("input", pa.string()),
        ("output", pa.string()),
        ("input_text", pa.string()),
        ("output_text", pa.string()),
        ("steps", pa.string()),
        ("metadata", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("models", pa.list_(pa.string())),
        ("user_id", pa.string()),
        ("session_id", pa.string()),
        ("latency_ms", pa.float64()),
        ("cost_usd", pa.float64()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
    ]
)
_dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _row(t: dict) -> dict:
    ins, outs = token_totals(t)
    return {
        "source": t.get("source") or "file",
        "source_id": str(t["source_id"]),
        "name": t.get("name"),
        "timestamp": parse_time(t.get("timestamp"), "timestamp"),
        "input": _dumps(t.get("input")),
        "output": _dumps(t.get("output")),
        "input_text": t.get("input_text") or "",
        "output_text": t.get("output_text") or "",
        "steps": _dumps(t.get("steps") or []),
        "metadata": _dumps(t.get("metadata") or {}),
        "tags": list(t.get("tags") or []),
        "models": step_models(t),
        "user_id": t.get("user_id"),
        "session_id": t.get("session_id"),
        "latency_ms": t.get("latency_ms"),
        "cost_usd": t.get("cost_usd"),
        "input_tokens": ins,
        "output_tokens": outs,
    }


def upsert_traces(db: Database, actor: User, workspace_id: str, traces: list[dict]) -> dict:
    """Insert or update unified traces on (workspace_id, source, source_id).

    Returns ``{"imported": n_new, "updated": n_existing, "ids": [forge id per input trace]}``
    (``ids`` follows the input order; a key repeated in one batch keeps its last version).
    Requires the ``import`` action.
    """
    auth.require(db, actor, workspace_id, "import")
    if not traces:
        return {"imported": 0, "updated": 0, "ids": []}
    return _write(db, workspace_id, _prepare(traces))


def upsert_batches(
    db: Database,
    actor: User,
    workspace_id: str,
    batches: Iterable[list[dict]],
    done: Callable[[list[dict], dict], None] | None = None,
) -> list[dict]:
    """``upsert_traces`` on each batch in order, one transaction each; the result per batch.

    The rows of batch k+1 are built while DuckDB writes batch k in a worker thread (DuckDB
    releases the GIL), so a long import spends its Python time and its database time at once.
    ``done(batch, result)`` is called in the caller's thread after each batch is stored.
    A failing batch raises after the batches before it are stored; none after it is written.
    """
    results: list[dict] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="forge-upsert") as pool:
        pending = None  # (batch, future) being written

        def finish():
            nonlocal pending
            if pending is not None:
                batch, fut = pending
                pending = None
                res = fut.result()
                results.append(res)
                if done:
                    done(batch, res)

        try:
            for batch in batches:
                auth.require(db, actor, workspace_id, "import")
                prepared = _prepare(batch) if batch else None
                finish()
                if prepared is None:
                    res = {"imported": 0, "updated": 0, "ids": []}
                    results.append(res)
                    if done:
                        done(batch, res)
                    continue
                pending = (batch, pool.submit(_write, db, workspace_id, prepared))
            finish()
        finally:
            if pending is not None:  # an error above: let the batch being written end first
                pending[1].exception()
    return results


def _prepare(traces: list[dict]) -> tuple:
    """Python side of an upsert (no database): keys, the last row per key, columns."""
    keys = [(t.get("source") or "file", str(t["source_id"])) for t in traces]
    last: dict[tuple, int] = {}
    for i, k in enumerate(keys):
        last[k] = i
    rows = [_row(traces[i]) for i in last.values()]
    cols = {c: [r[c] for r in rows] for c in _COLS}
    return keys, last, cols


def _write(db: Database, workspace_id: str, prepared: tuple) -> dict:
    keys, last, cols = prepared
    now = utcnow()

    def txn(cur):
        probe = pa.table({"source": cols["source"], "source_id": cols["source_id"]})
        cur.register("forge_probe", probe)
        try:
            existing = dict(
                ((s, sid), tid)
                for s, sid, tid in cur.execute(
                    "SELECT t.source, t.source_id, t.id FROM traces t"
                    " JOIN forge_probe p ON t.source = p.source AND t.source_id = p.source_id"
                    " WHERE t.workspace_id = ?",
                    [workspace_id],
                ).fetchall()
            )
        finally:
            cur.unregister("forge_probe")
        ids = [existing.get(k) or new_id() for k in last]
        table = pa.table({"id": ids, **cols}, schema=_SCHEMA)
        cur.register("forge_incoming", table)
        try:
            cur.execute(
                "INSERT INTO traces (id, workspace_id, source, source_id, name, timestamp, input, output,"
                " input_text, output_text, steps, metadata, tags, models, user_id, session_id,"
                " latency_ms, cost_usd, input_tokens, output_tokens, imported_at, updated_at)"
                " SELECT id, ?, source, source_id, name, timestamp, input::JSON, output::JSON,"
                " input_text, output_text, steps::JSON, metadata::JSON, tags, models, user_id, session_id,"
                " latency_ms, cost_usd, input_tokens, output_tokens, ?, ? FROM forge_incoming"
                " ON CONFLICT (workspace_id, source, source_id) DO UPDATE SET"
                " name = excluded.name, timestamp = excluded.timestamp, input = excluded.input,"
                " output = excluded.output, input_text = excluded.input_text,"
                " output_text = excluded.output_text, steps = excluded.steps,"
                " metadata = excluded.metadata, tags = excluded.tags, models = excluded.models,"
                " user_id = excluded.user_id, session_id = excluded.session_id,"
                " latency_ms = excluded.latency_ms, cost_usd = excluded.cost_usd,"
                " input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,"
                " updated_at = excluded.updated_at",
                [workspace_id, now, now],
            )
        finally:
            cur.unregister("forge_incoming")
        return existing, dict(zip(last, ids, strict=True))

    existing, id_of = db.write(txn)
    return {
        "imported": len(id_of) - len(existing),
        "updated": len(existing),
        "ids": [id_of[k] for k in keys],
    }


def _load(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else value


def _to_unified(row: dict) -> dict:
    for c in _JSON_COLS:
        row[c] = _load(row[c])
    ts = row.get("timestamp")
    row["timestamp"] = ts.isoformat(timespec="milliseconds") + "Z" if ts else None
    row["steps"] = row["steps"] or []
    row["metadata"] = row["metadata"] or {}
    row["tags"] = list(row["tags"] or [])
    row["models"] = list(row["models"] or [])
    return row


def _one(db: Database, actor: User, workspace_id: str, where: str, params: list) -> dict | None:
    auth.require(db, actor, workspace_id, "read")
    rows = db.fetchdicts(
        f"SELECT * EXCLUDE (workspace_id) FROM traces WHERE workspace_id = ? AND {where}", [workspace_id, *params]
    )
    return _to_unified(rows[0]) if rows else None


def get_trace(db: Database, actor: User, workspace_id: str, trace_id: str) -> dict | None:
    """One trace in the unified shape (``id`` is Forge's id), plus models/token totals; or None."""
    return _one(db, actor, workspace_id, "id = ?", [trace_id])


def get_trace_by_source(db: Database, actor: User, workspace_id: str, source: str, source_id: str) -> dict | None:
    return _one(db, actor, workspace_id, "source = ? AND source_id = ?", [source, source_id])


def count_traces(db: Database, actor: User, workspace_id: str) -> int:
    auth.require(db, actor, workspace_id, "read")
    return db.scalar("SELECT count(*) FROM traces WHERE workspace_id = ?", [workspace_id])


def delete_traces(db: Database, actor: User, workspace_id: str, trace_ids: list[str]) -> int:
    """Delete traces with their ratings and eval results; returns how many traces went."""
    auth.require(db, actor, workspace_id, "edit")
    if not trace_ids:
        return 0

    def txn(cur):
        n = cur.execute(
            "SELECT count(*) FROM traces WHERE workspace_id = ? AND list_contains(?, id)",
            [workspace_id, list(trace_ids)],
        ).fetchone()[0]
        for table in ("ratings", "eval_results"):
            cur.execute(
                f"DELETE FROM {table} WHERE workspace_id = ? AND list_contains(?, trace_id)",
                [workspace_id, list(trace_ids)],
            )
        cur.execute(
            "DELETE FROM traces WHERE workspace_id = ? AND list_contains(?, id)", [workspace_id, list(trace_ids)]
        )
        return n

    return db.write(txn)


# ---------------------------------------------------------------- import cursors


def get_import_cursor(db: Database, actor: User, workspace_id: str, source: str, key: str) -> dict | None:
    """How far an incremental import of ``source``/``key`` (e.g. a Langfuse host) got."""
    auth.require(db, actor, workspace_id, "read")
    value = db.scalar(
        "SELECT position FROM import_cursors WHERE workspace_id = ? AND source = ? AND key = ?",
        [workspace_id, source, key],
    )
    return _load(value)


def set_import_cursor(db: Database, actor: User, workspace_id: str, source: str, key: str, position: dict) -> None:
    auth.require(db, actor, workspace_id, "import")
    db.execute(
        "INSERT INTO import_cursors (workspace_id, source, key, position, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (workspace_id, source, key) DO UPDATE SET position = excluded.position,"
        " updated_at = excluded.updated_at",
        [workspace_id, source, key, _dumps(position), utcnow()],
    )
