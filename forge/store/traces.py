"""Traces: bulk upsert of unified traces, fetch one, delete; the trace browser's reads; import cursors.

Bulk upsert sends a batch as one list parameter per column into a single
``INSERT … SELECT unnest(…) … ON CONFLICT DO UPDATE``: row-by-row inserts are ~50x slower.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from forge.store import new_id, utcnow
from forge.store.access import Access
from forge.store.db import Database
from forge.store.types import Trace
from forge.store.values import parse_time

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


_dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode


# Bare model ids of the built-in providers, as traces log them ("gpt-4o-mini", "claude-sonnet-4-5");
# the same rule is in migration 0007 for traces stored before it.
_OPENAI_MODEL = re.compile(r"^(gpt-|chatgpt-|o[1-9]($|-)|text-|davinci|babbage|ft:gpt|omni-moderation)", re.I)


def catalog_model_name(model: str) -> str:
    """A model as the catalog names it (``provider/model``): ``gpt-4o-mini`` -> ``openai/gpt-4o-mini``.

    Names that already carry a provider, and models of unknown makers, are kept as they are.
    """
    name = model.strip()
    if "/" in name:
        return name
    if _OPENAI_MODEL.match(name):
        return f"openai/{name}"
    if name.lower().startswith("claude"):
        return f"anthropic/{name}"
    return name


def step_models(trace: Trace) -> list[str]:
    """Distinct step models as the catalog names them, in first-seen order."""
    seen: dict[str, None] = {}
    for s in trace.get("steps") or []:
        if s.get("model"):
            seen.setdefault(catalog_model_name(str(s["model"])), None)
    return list(seen)


def token_totals(trace: Trace) -> tuple[int | None, int | None]:
    ins = [s["input_tokens"] for s in trace.get("steps") or [] if s.get("input_tokens") is not None]
    outs = [s["output_tokens"] for s in trace.get("steps") or [] if s.get("output_tokens") is not None]
    return (sum(ins) if ins else None, sum(outs) if outs else None)


def _row(t: Trace) -> dict:
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


def upsert_traces(access: Access, traces: list[Trace]) -> dict:
    """Insert or update unified traces on (workspace_id, source, source_id).

    Returns ``{"imported": n_new, "updated": n_existing, "ids": [forge id per input trace]}``
    (``ids`` follows the input order; a key repeated in one batch keeps its last version).
    Requires the ``import`` action.
    """
    access.need("import")
    if not traces:
        return {"imported": 0, "updated": 0, "ids": []}
    return _write(access.db, access.workspace_id, _prepare(traces))


def upsert_batches(
    access: Access,
    batches: Iterable[list[Trace]],
    done: Callable[[list[dict], dict], None] | None = None,
    keep_results: bool = True,
) -> list[dict]:
    """``upsert_traces`` on each batch in order, one transaction each; the result per batch.

    ``keep_results=False`` returns ``[]``: each result is only handed to ``done`` (a file of a
    million rows would otherwise hold a million trace ids until it ends).

    The rows of batch k+1 are built while DuckDB writes batch k in a worker thread (DuckDB
    releases the GIL), so a long import spends its Python time and its database time at once.
    ``done(batch, result)`` is called in the caller's thread after each batch is stored.
    A failing batch raises after the batches before it are stored; none after it is written.
    """
    access.need("import")
    db, workspace_id = access.db, access.workspace_id
    results: list[dict] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="forge-upsert") as pool:
        pending = None  # (batch, future) being written

        def finish():
            nonlocal pending
            if pending is not None:
                batch, fut = pending
                pending = None
                res = fut.result()
                if keep_results:
                    results.append(res)
                if done:
                    done(batch, res)

        try:
            for batch in batches:
                prepared = _prepare(batch) if batch else None
                finish()
                if prepared is None:
                    res = {"imported": 0, "updated": 0, "ids": []}
                    if keep_results:
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


# The SQL type of each incoming column: a batch goes in as one list parameter per column,
# unnested side by side (no Arrow table: registering one makes DuckDB import pandas, ~80 MB
# with pyarrow, which a streaming import of a big file would carry to its end).
_TYPES = {
    "id": "VARCHAR",
    "source": "VARCHAR",
    "source_id": "VARCHAR",
    "name": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "input": "VARCHAR",
    "output": "VARCHAR",
    "input_text": "VARCHAR",
    "output_text": "VARCHAR",
    "steps": "VARCHAR",
    "metadata": "VARCHAR",
    "tags": "VARCHAR[]",
    "models": "VARCHAR[]",
    "user_id": "VARCHAR",
    "session_id": "VARCHAR",
    "latency_ms": "DOUBLE",
    "cost_usd": "DOUBLE",
    "input_tokens": "BIGINT",
    "output_tokens": "BIGINT",
}


def _unnest(cols: dict[str, list]) -> tuple[str, list]:
    """A subquery of one row per list element, side by side, and its parameters (one list per column).

    A column with nothing in it (no user ids in a file, no tags) is a constant, not a list of
    2,000 Nones: each list element is converted one by one, holding the GIL.
    """
    exprs, params = [], []
    for c, values in cols.items():
        if all(v is None for v in values):
            exprs.append(f"NULL::{_TYPES[c]} AS {c}")
        elif all(v == [] for v in values):
            exprs.append(f"[]::{_TYPES[c]} AS {c}")
        else:
            exprs.append(f"unnest(?::{_TYPES[c]}[]) AS {c}")
            params.append(values)
    return "(SELECT " + ", ".join(exprs) + ")", params


def _write(db: Database, workspace_id: str, prepared: tuple) -> dict:
    keys, last, cols = prepared
    now = utcnow()

    def txn(cur):
        probe, probe_params = _unnest({"source": cols["source"], "source_id": cols["source_id"]})
        existing = dict(
            ((s, sid), tid)
            for s, sid, tid in cur.execute(
                "SELECT t.source, t.source_id, t.id FROM traces t"
                f" JOIN {probe} p ON t.source = p.source AND t.source_id = p.source_id"
                " WHERE t.workspace_id = ?",
                [*probe_params, workspace_id],
            ).fetchall()
        )
        ids = [existing.get(k) or new_id() for k in last]
        incoming, incoming_params = _unnest({"id": ids, **cols})
        cur.execute(
            "INSERT INTO traces (id, workspace_id, source, source_id, name, timestamp, input, output,"
            " input_text, output_text, steps, metadata, tags, models, user_id, session_id,"
            " latency_ms, cost_usd, input_tokens, output_tokens, imported_at, updated_at, timestamp_imputed)"
            " SELECT id, ?, source, source_id, name, coalesce(timestamp, ?), input::JSON, output::JSON,"
            " input_text, output_text, steps::JSON, metadata::JSON, tags, models, user_id, session_id,"
            f" latency_ms, cost_usd, input_tokens, output_tokens, ?, ?, timestamp IS NULL FROM {incoming}"
            " ON CONFLICT (workspace_id, source, source_id) DO UPDATE SET"
            # A source without a timestamp keeps the time the trace was first imported.
            " name = excluded.name,"
            " timestamp = CASE WHEN excluded.timestamp_imputed THEN traces.timestamp ELSE excluded.timestamp END,"
            " timestamp_imputed = excluded.timestamp_imputed AND traces.timestamp_imputed,"
            " input = excluded.input,"
            " output = excluded.output, input_text = excluded.input_text,"
            " output_text = excluded.output_text, steps = excluded.steps,"
            " metadata = excluded.metadata, tags = excluded.tags, models = excluded.models,"
            " user_id = excluded.user_id, session_id = excluded.session_id,"
            " latency_ms = excluded.latency_ms, cost_usd = excluded.cost_usd,"
            " input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,"
            " updated_at = excluded.updated_at",
            [workspace_id, now, now, now, *incoming_params],  # in the order of the ?s
        )
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


def _one(access: Access, where: str, params: list) -> dict | None:
    access.need("read")
    rows = access.db.fetchdicts(
        f"SELECT * EXCLUDE (workspace_id) FROM traces WHERE workspace_id = ? AND {where}",
        [access.workspace_id, *params],
    )
    return _to_unified(rows[0]) if rows else None


def get_trace(access: Access, trace_id: str) -> dict | None:
    """One trace in the unified shape (``id`` is Forge's id), plus models/token totals; or None."""
    return _one(access, "id = ?", [trace_id])


def get_traces(access: Access, trace_ids: list[str]) -> dict[str, dict]:
    """Many traces in the unified shape at once, by id (ids not in this workspace are absent)."""
    access.need("read")
    if not trace_ids:
        return {}
    rows = access.db.fetchdicts(
        "SELECT * EXCLUDE (workspace_id) FROM traces WHERE workspace_id = ? AND list_contains(?, id)",
        [access.workspace_id, list(trace_ids)],
    )
    return {row["id"]: _to_unified(row) for row in rows}


def get_trace_by_source(access: Access, source: str, source_id: str) -> dict | None:
    return _one(access, "source = ? AND source_id = ?", [source, source_id])


def count_traces(access: Access) -> int:
    access.need("read")
    return access.db.scalar("SELECT count(*) FROM traces WHERE workspace_id = ?", [access.workspace_id])


def delete_traces(access: Access, trace_ids: list[str]) -> int:
    """Delete traces with their ratings and eval results; returns how many traces went."""
    access.need("edit")
    if not trace_ids:
        return 0
    workspace_id = access.workspace_id

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

    return access.db.write(txn)


# ---------------------------------------------------------------- the trace browser's reads
#
# The list query touches only the list columns plus short previews (never the
# whole JSON columns), and finds the matching rows once: the count and the
# page both come from one materialized match, so a text search scans the text
# a single time. See ``bench/traces_query.py`` for the figures at 100,000 traces.

RATING_STATUSES = ("rated", "unrated", "pass", "fail", "neutral")
SORTS = {
    "newest": "timestamp DESC NULLS LAST",
    "oldest": "timestamp ASC NULLS LAST",
    "slowest": "latency_ms DESC NULLS LAST",
    "costliest": "cost_usd DESC NULLS LAST",
    "name": "name ASC NULLS LAST",
}
# Sort keys need their column in the match; these are the columns they use.
_SORT_COLUMN = {
    "newest": "timestamp",
    "oldest": "timestamp",
    "slowest": "latency_ms",
    "costliest": "cost_usd",
    "name": "name",
}
PAGE_SIZES = (25, 50, 100, 200)
PREVIEW_CHARS = 160


@dataclass(frozen=True)
class TraceFilters:
    """What the analyst narrowed the list to; empty fields do not filter."""

    start: datetime | None = None  # timestamp >= start
    end: datetime | None = None  # timestamp < end
    names: tuple[str, ...] = ()  # any of these trace names
    tags: tuple[str, ...] = ()  # has any of these tags
    sources: tuple[str, ...] = ()  # langfuse | file | playground
    users: tuple[str, ...] = ()  # the traced application's user ids
    models: tuple[str, ...] = ()  # a step used any of these models
    rating: str | None = None  # one of RATING_STATUSES
    eval_set_id: str | None = None  # rating status within this eval set (else any)
    text: str | None = None  # case-insensitive in input/output text or metadata values; or an exact id/source id

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
        if self.rating is not None and self.rating not in RATING_STATUSES:
            raise ValueError(f"Rating status must be one of {', '.join(RATING_STATUSES)}; got '{self.rating}'.")

    @property
    def active(self) -> int:
        """How many filters are set (for a badge on the filter panel)."""
        return sum(bool(getattr(self, f.name)) for f in fields(self) if f.name != "eval_set_id")


@dataclass(frozen=True)
class TracePage:
    rows: list[dict]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _pattern(text: str) -> str:
    """A case-insensitive RE2 pattern matching ``text`` literally.

    Measured at 100k traces: RE2 ``(?i)`` matching is ~2x faster than ILIKE
    and faster than ``contains(lower(...))``, with Unicode case folding.
    """
    return "(?i)" + re.escape(text)


def filter_clause(workspace_id: str, f: TraceFilters) -> tuple[str, list]:
    clauses, params = ["t.workspace_id = ?"], [workspace_id]
    if f.start:
        clauses.append("t.timestamp >= ?")
        params.append(f.start)
    if f.end:
        clauses.append("t.timestamp < ?")
        params.append(f.end)
    for column, values in (("name", f.names), ("source", f.sources), ("user_id", f.users)):
        if values:
            clauses.append(f"t.{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    for column, values in (("tags", f.tags), ("models", f.models)):
        if values:
            clauses.append(f"list_has_any(t.{column}, ?::VARCHAR[])")
            params.append(list(values))
    if f.rating:
        sub = "SELECT 1 FROM ratings r WHERE r.trace_id = t.id AND r.workspace_id = ?"
        sub_params: list = [workspace_id]
        if f.eval_set_id:
            sub += " AND r.eval_set_id = ?"
            sub_params.append(f.eval_set_id)
        if f.rating in ("pass", "fail", "neutral"):
            sub += " AND r.value = ?"
            sub_params.append(f.rating)
        clauses.append(f"{'NOT ' if f.rating == 'unrated' else ''}EXISTS ({sub})")
        params.extend(sub_params)
    text = (f.text or "").strip()
    if text:
        clause, clause_params = _text_clause(text)
        clauses.append(clause)
        params.extend(clause_params)
    return " AND ".join(clauses), params


# Characters that JSON writes as they are, so a plain search can be tried on metadata's JSON text first.
_JSON_PLAIN = re.compile(r'^[^"\\\x00-\x1f]*$')


def _text_clause(text: str) -> tuple[str, list]:
    """The search and its parameters: input or output text, the trace's own id or its source's id
    (exactly), or any metadata value (not the keys: "model" must not match every trace with a model field).

    Metadata values are read out of the JSON only for rows whose JSON text holds the pattern at all
    (a cheap test), when the text is written as is inside JSON (no quote, backslash or control character).
    """
    pattern = _pattern(text)
    values, values_params = "regexp_matches(array_to_string(json_extract_string(t.metadata, '$.*'), ' '), ?)", [pattern]
    if _JSON_PLAIN.match(text):
        values, values_params = f"(regexp_matches(t.metadata::VARCHAR, ?) AND {values})", [pattern, pattern]
    clause = (
        "(regexp_matches(t.input_text, ?) OR regexp_matches(t.output_text, ?) OR t.id = ? OR t.source_id = ?"
        f" OR {values})"
    )
    return clause, [pattern, pattern, text, text, *values_params]


def list_traces(
    access: Access,
    filters: TraceFilters | None = None,
    page: int = 1,
    page_size: int = 50,
    sort: str = "newest",
) -> TracePage:
    """One page of the workspace's traces matching ``filters``, with the total count."""
    access.need("read")
    db, workspace_id = access.db, access.workspace_id
    filters = filters or TraceFilters()
    if sort not in SORTS:
        raise ValueError(f"Sort must be one of {', '.join(SORTS)}; got '{sort}'.")
    page_size = max(1, min(int(page_size), 1000))
    page = max(1, int(page))
    where, params = filter_clause(workspace_id, filters)
    order = SORTS[sort]
    sort_col = _SORT_COLUMN[sort]
    extra = "" if sort_col == "timestamp" else f", t.{sort_col}"
    # One scan finds the matches (ids + sort key only); count and page both read it.
    sql = f"""
        WITH matched AS MATERIALIZED (
            SELECT t.id, t.timestamp{extra} FROM traces t WHERE {where}
        ),
        counted AS (SELECT count(*) AS total FROM matched),
        page AS (
            SELECT id, row_number() OVER () AS pos FROM (
                SELECT id FROM matched ORDER BY {order}, id LIMIT ? OFFSET ?)
        )
        SELECT c.total, t.id, t.timestamp, t.timestamp_imputed, t.name, t.source, t.source_id, t.user_id,
               t.session_id, t.tags, t.models,
               t.latency_ms, t.cost_usd, t.input_tokens, t.output_tokens,
               left(t.input_text, {PREVIEW_CHARS}) AS input_preview,
               left(t.output_text, {PREVIEW_CHARS}) AS output_preview,
               coalesce(json_array_length(t.steps), 0) AS steps,
               coalesce(list_contains(json_extract_string(t.steps, '$[*].level'), 'ERROR'), FALSE) AS has_error
        FROM counted c LEFT JOIN page p ON TRUE LEFT JOIN traces t ON t.id = p.id
        ORDER BY p.pos
    """
    cur = db.execute(sql, params + [page_size, (page - 1) * page_size])
    cols = [d[0] for d in cur.description]
    out = cur.fetchall()
    total = out[0][0] if out else 0
    rows = [dict(zip(cols[1:], r[1:], strict=True)) for r in out if r[1] is not None]
    _add_rating_summaries(db, workspace_id, rows, filters.eval_set_id)
    return TracePage(rows=rows, total=total, page=page, page_size=page_size)


def _add_rating_summaries(db: Database, workspace_id: str, rows: list[dict], eval_set_id: str | None) -> None:
    for r in rows:
        r.update(passes=0, fails=0, neutrals=0)
    if not rows:
        return
    by_id = {r["id"]: r for r in rows}
    sql = (
        "SELECT trace_id, count(*) FILTER (value = 'pass'), count(*) FILTER (value = 'fail'),"
        " count(*) FILTER (value = 'neutral') FROM ratings WHERE workspace_id = ?"
        f" AND trace_id IN ({', '.join('?' for _ in by_id)})"
    )
    params = [workspace_id, *by_id]
    if eval_set_id:
        sql += " AND eval_set_id = ?"
        params.append(eval_set_id)
    for trace_id, p, f, n in db.fetchall(sql + " GROUP BY trace_id", params):
        by_id[trace_id].update(passes=p, fails=f, neutrals=n)


def facet_values(access: Access, limit: int = 200) -> dict[str, Any]:
    """Choices for the filters: the most common names, tags, sources, users and models; eval sets; time range."""
    access.need("read")
    db, ws = access.db, [access.workspace_id]

    def top(expr: str, source: str = "traces") -> list[str]:
        return [
            r[0]
            for r in db.fetchall(
                f"SELECT v FROM (SELECT {expr} AS v FROM {source} WHERE workspace_id = ?) WHERE v IS NOT NULL"
                " GROUP BY v ORDER BY count(*) DESC, v LIMIT ?",
                ws + [limit],
            )
        ]

    first, last, total = db.fetchone(
        "SELECT min(timestamp), max(timestamp), count(*) FROM traces WHERE workspace_id = ?", ws
    )
    return {
        "total": total,
        "names": top("name"),
        "tags": top("unnest(tags)"),
        "sources": top("source"),
        "users": top("user_id"),
        "models": top("unnest(models)"),
        "eval_sets": db.fetchdicts(
            "SELECT id, name, criterion FROM eval_sets WHERE workspace_id = ? ORDER BY name", ws
        ),
        "first": first,
        "last": last,
    }
