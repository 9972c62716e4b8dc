"""Ingestion: traces an application sends as JSON (the REST API's ``POST /api/v1/traces``).

Each item is checked on its own, like a file's rows: a bad one is named by its index and
field, the good ones are stored in one bulk upsert. Items take any shape a trace file's
rows may have (the unified trace of DESIGN.md, a Langfuse trace, an OpenAI chat log) and
are stored as file rows are (source ``file`` unless the trace names its own), so sending
the same id again updates the trace instead of duplicating it.
"""

from __future__ import annotations

from typing import Any

from forge.review import ratings as review_ratings
from forge.store import traces as trace_store
from forge.store.access import Access
from forge.traces.files import MAX_DEPTH, row_to_unified, too_deep
from forge.traces.model import TraceFieldError

# Where an item's label is, as in trace files: ``rating``, else ``human_label`` (1 good / 0 bad).
LABEL_KEYS = ("rating", "human_label")
MAX_TRACES = 10_000  # per request: larger batches are split by the sender


class IngestError(ValueError):
    """The request as a whole is unusable (not a trace, a list of traces or {"traces": [...]})."""


def items_of(body: Any) -> list:
    """The traces of a request body: one trace object, a list, or ``{"traces": [...]}``."""
    if isinstance(body, dict) and "traces" in body and isinstance(body.get("traces"), list):
        items = body["traces"]
    elif isinstance(body, list):
        items = body
    elif isinstance(body, dict):
        items = [body]
    else:
        raise IngestError(
            f'expected a trace object, a list of traces or {{"traces": [...]}}; got {type(body).__name__}'
        )
    if not items:
        raise IngestError("no traces in the request")
    if len(items) > MAX_TRACES:
        raise IngestError(f"{len(items)} traces in one request; send at most {MAX_TRACES} per request")
    return items


def ingest(access: Access, items: list, eval_set: str | None = None) -> dict:
    """Store the valid traces of ``items``; returns counts, ``errors`` [{index, field, message}] and ``ids``.

    ``ids`` pairs each stored item's index with its Forge trace id. With ``eval_set``, an
    item's ``rating`` or ``human_label`` (pass/fail/neutral, up/down, 1/0) is stored in that
    set as the acting user's rating (needs ``rate``); without one, ratings are counted as skipped.
    """
    access.need("import")
    if eval_set:
        access.need("rate")
    errors: list[dict] = []
    good: list[dict] = []
    where: list[int] = []
    for index, raw in enumerate(items):
        deep = too_deep(raw)  # refused as a file row would be: deeper than any trace needs
        if deep:
            field = None if deep == "row" else deep
            errors.append({"index": index, "field": field, "message": f"nested more than {MAX_DEPTH} levels deep"})
            continue
        try:
            trace = row_to_unified(raw)
        except TraceFieldError as exc:
            errors.append({"index": index, "field": exc.field, "message": exc.message})
            continue
        except (ValueError, TypeError, KeyError) as exc:  # a shape the mappers could not read
            errors.append({"index": index, "field": None, "message": str(exc) or type(exc).__name__})
            continue
        good.append(trace)
        where.append(index)
    stored = trace_store.upsert_traces(access, good) if good else {"imported": 0, "updated": 0, "ids": []}
    ratings = {"stored": 0, "skipped": 0, "eval_set": None}
    rated = []
    for tid, i in zip(stored["ids"], where, strict=True):
        key = next((k for k in LABEL_KEYS if items[i].get(k) not in (None, "")), None)
        if key:
            rated.append((tid, i, key))
    if rated and not eval_set:
        ratings["skipped"] = len(rated)
    elif rated:
        rows = []
        for tid, i, key in rated:
            note = items[i].get("note")
            try:
                value = review_ratings.normalize_rating(items[i][key])
            except ValueError as exc:
                ratings["skipped"] += 1
                errors.append({"index": i, "field": key, "message": str(exc)})
                continue
            rows.append({"trace_id": tid, "value": value, "note": note if isinstance(note, str) else None})
        ratings["eval_set"], ratings["stored"] = review_ratings.import_ratings(access, eval_set, rows)
    errors.sort(key=lambda e: e["index"])
    return {
        "received": len(items),
        "imported": stored["imported"],
        "updated": stored["updated"],
        "failed": len(errors) - sum(1 for e in errors if e["field"] in LABEL_KEYS),
        "errors": errors,
        "ratings": ratings,
        "ids": [{"index": i, "id": tid} for i, tid in zip(where, stored["ids"], strict=True)],
    }
