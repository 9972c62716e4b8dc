"""File importer: JSONL / JSON / CSV in the unified shape, OpenAI chat logs, Langfuse trace JSON.

Every row is checked on its own: a bad row becomes an error entry naming the
file, line and field, and the valid rows of the same file are still imported.
A row's optional ``rating`` (with ``rating_note`` or ``note``) goes into the
eval set given by ``eval_set``; without one, ratings are counted as skipped
(with a warning) and nothing is guessed.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from forge.review import ratings as review_ratings
from forge.store import traces as trace_store
from forge.store.access import Access
from forge.store.types import ImportSummary, Progress, Trace
from forge.traces.langfuse_mapping import export_to_unified, is_langfuse_trace
from forge.traces.model import TraceFieldError, content_id, maybe_json, normalize_trace

MAX_FIELD_BYTES = 10 * 1024 * 1024  # one field above this is refused (the rest of the file is kept)
BATCH = 2000
_RATING_KEYS = ("rating", "rating_note", "note")
# Where a row's label is: DESIGN's ``rating``, else ``human_label`` (HaluEval and similar
# labelled sets: 1 good / 0 bad).
_LABEL_KEYS = ("rating", "human_label")
# Top-level keys of the unified shape (and the label keys, stored as ratings); a file row's
# other fields are kept in the trace's metadata rather than dropped.
_UNIFIED_KEYS = frozenset(
    (
        *("id", "name", "timestamp", "input", "output", "input_text", "output_text", "steps", "metadata"),
        *("tags", "user_id", "session_id", "latency_ms", "cost_usd", "source", "source_id"),
        *_RATING_KEYS,
        *_LABEL_KEYS,
    )
)


class _RowError(Exception):
    def __init__(self, field: str | None, message: str):
        self.field = field
        self.message = message
        super().__init__(message)


# ---------------------------------------------------------------- decoding and parsing


def _decode(name: str, data: bytes, summary: ImportSummary) -> str:
    """UTF-8 text; undecodable bytes are replaced, with a warning naming each line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its BOM (Excel's "Unicode text")
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    lines = data.split(b"\n")
    out = []
    for i, raw in enumerate(lines, 1):
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            out.append(raw.decode("utf-8", errors="replace"))
            summary.warn(
                name,
                i,
                None,
                f"not valid UTF-8 (byte {exc.start + 1} of the line): undecodable bytes replaced by U+FFFD",
            )
    text = "\n".join(out)
    return text[1:] if text.startswith("\ufeff") else text


def _oversized(obj: Any, line_len: int) -> str | None:
    """The first top-level field larger than MAX_FIELD_BYTES, if any (cheap when the row is small)."""
    if line_len <= MAX_FIELD_BYTES or not isinstance(obj, dict):
        return None
    for key, value in obj.items():
        size = len(value) if isinstance(value, str) else len(json.dumps(value, default=str))
        if size > MAX_FIELD_BYTES:
            return str(key)
    return None


def _jsonl_rows(text: str) -> Iterator[tuple[int, Any, Exception | None]]:
    for i, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            tail = line.rstrip()
            if tail.endswith(","):  # a row copied out of a JSON array
                try:
                    obj = json.loads(tail[:-1])
                except ValueError:
                    obj = exc
            else:
                obj = exc
            if isinstance(obj, ValueError):
                yield i, None, _RowError(None, f"invalid JSON: {obj}")
                continue
        key = _oversized(obj, len(line))
        if key:
            yield (
                i,
                None,
                _RowError(key, f"field '{key}' is larger than {MAX_FIELD_BYTES // (1024 * 1024)} MB; row refused"),
            )
            continue
        yield i, obj, None


def _column(header: str) -> str:
    """A CSV header as a trace key: spreadsheets write "Input", "User ID"."""
    return "_".join(header.strip().lower().split())


def _csv_rows(text: str) -> Iterator[tuple[int, Any, Exception | None]]:
    csv.field_size_limit(2**31 - 1)
    header = _first_line(text)
    delimiter = max((",", ";", "\t"), key=header.count)  # the header's most frequent separator
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    for row in reader:
        line = reader.line_num
        if not any((v or "").strip() for k, v in row.items() if k is not None):
            continue
        if None in row:
            yield line, None, _RowError(None, "more cells than header columns")
            continue
        big = next((k for k, v in row.items() if v is not None and len(v) > MAX_FIELD_BYTES), None)
        if big:
            yield (
                line,
                None,
                _RowError(big, f"field '{big}' is larger than {MAX_FIELD_BYTES // (1024 * 1024)} MB; row refused"),
            )
            continue
        obj = {_column(k): (v if v != "" else None) for k, v in row.items() if k}
        yield line, obj, None


def _json_items(obj: Any, text_len: int) -> Iterator[tuple[int, Any, Exception | None]]:
    if isinstance(obj, dict) and isinstance(obj.get("data"), list) and not is_langfuse_trace(obj):
        obj = obj["data"]  # a Langfuse list page, or {"data": [...]}
    items = obj if isinstance(obj, list) else [obj]
    for i, item in enumerate(items, 1):
        key = _oversized(item, text_len)
        if key:
            yield (
                i,
                None,
                _RowError(key, f"field '{key}' is larger than {MAX_FIELD_BYTES // (1024 * 1024)} MB; item refused"),
            )
            continue
        yield i, item, None


def _first_line(text: str) -> str:
    end = text.find("\n")
    return text if end < 0 else text[:end]


def parse_rows(name: str, text: str) -> Iterator[tuple[int, Any, Exception | None]]:
    """(line or item number, parsed row or None, error or None) for every row of a file."""
    stripped = text.lstrip()
    lower = name.lower()
    if lower.endswith((".csv", ".tsv")) or (
        not lower.endswith((".jsonl", ".ndjson", ".json"))
        and stripped[:1] not in ("{", "[")
        and any(c in _first_line(stripped) for c in ",;\t")
    ):
        yield from _csv_rows(text)
        return
    pretty = _first_line(stripped).strip() in ("{", "[")  # a pretty-printed JSON document, whatever the file is called
    if stripped[:1] == "[" or (stripped[:1] == "{" and (pretty or not name.lower().endswith((".jsonl", ".ndjson")))):
        try:
            obj = json.loads(text)
        except ValueError as exc:
            if stripped[:1] == "[":
                yield getattr(exc, "lineno", None), None, _RowError(None, f"invalid JSON: {exc}")
                return
        else:
            yield from _json_items(obj, len(text))
            return
    yield from _jsonl_rows(text)


# ---------------------------------------------------------------- row shapes


def _request(obj: dict) -> dict:
    """The request of an OpenAI log row ({request: {...}} or a JSON-encoded one), else the row itself."""
    req = maybe_json(obj.get("request"))
    return req if isinstance(req, dict) else obj


def _is_openai_log(obj: dict) -> bool:
    req = _request(obj)
    return isinstance(req.get("messages"), list) and "input" not in obj and "steps" not in obj


def openai_log_to_unified(obj: dict) -> Trace:
    """An OpenAI chat-completions log row ({messages, response} or {request, response}) -> unified."""
    req = _request(obj)
    messages = list(req["messages"])
    resp = maybe_json(obj.get("response", obj.get("completion")))
    if resp is None and isinstance(obj.get("choices"), list):
        resp = obj
    output: Any = None
    usage: dict = {}
    if isinstance(resp, dict):
        choices = resp.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            output = choices[0].get("message") or choices[0].get("text")
        usage = resp.get("usage") if isinstance(resp.get("usage"), dict) else {}
    elif resp is not None:
        output = resp
    if output is None and messages and isinstance(messages[-1], dict) and messages[-1].get("role") == "assistant":
        output = messages.pop()  # fine-tuning style: the last assistant turn is the answer
    if output is None:
        raise TraceFieldError("response", "missing (an OpenAI chat log needs a response or a final assistant message)")
    model = req.get("model") or (resp.get("model") if isinstance(resp, dict) else None)
    source_id = (
        obj.get("id")
        or (resp.get("id") if isinstance(resp, dict) else None)
        or content_id({"messages": messages, "output": output, "model": model})
    )
    created = resp.get("created") if isinstance(resp, dict) else None
    timestamp = obj.get("timestamp") or created
    skip = {
        "messages",
        "request",
        "response",
        "completion",
        "choices",
        "id",
        "timestamp",
        "usage",
        "model",
        "tags",
        "metadata",
        "user_id",
        "session_id",
        "name",
        *_RATING_KEYS,
    }
    metadata = maybe_json(obj.get("metadata")) or {}
    if isinstance(metadata, dict):
        metadata = {**{k: v for k, v in obj.items() if k not in skip}, **metadata}
    step = {
        "id": "generation",
        "type": "GENERATION",
        "name": "chat.completions",
        "input": messages,
        "output": output,
        "model": model,
        "start_time": timestamp,
        "input_tokens": usage.get("prompt_tokens", usage.get("input_tokens")),
        "output_tokens": usage.get("completion_tokens", usage.get("output_tokens")),
    }
    return normalize_trace(
        {
            "id": str(source_id),
            "source_id": str(source_id),
            "name": obj.get("name") or "chat.completions",
            "timestamp": timestamp,
            "input": messages,
            "output": output,
            "steps": [step],
            "metadata": metadata,
            "tags": obj.get("tags"),
            "user_id": obj.get("user_id"),
            "session_id": obj.get("session_id"),
        },
        source="file",
    )


def row_to_unified(obj: Any) -> Trace:
    """Any supported row -> unified trace (TraceFieldError names the bad field)."""
    if not isinstance(obj, dict):
        raise TraceFieldError("row", f"expected a JSON object, got {type(obj).__name__}")
    if is_langfuse_trace(obj):
        trace, _scores = export_to_unified(obj)
        return trace
    if _is_openai_log(obj):
        return openai_log_to_unified(obj)
    trace = normalize_trace(obj, source="file", require_output=True)
    extra = {k: v for k, v in obj.items() if k not in _UNIFIED_KEYS and v is not None}
    if extra:  # the file's own fields (model, label_raw, ...) stay with the trace, its own metadata wins
        trace["metadata"] = {**extra, **trace["metadata"]}
    return trace


# ---------------------------------------------------------------- import


def _collect(name: str, data: bytes, summary: ImportSummary, pending: dict, progress: Progress | None) -> None:
    """Parse one file's rows into ``pending``: {(source, source_id): (trace, rating, (file, line), partial)}.

    ``partial`` marks a trace built from a Langfuse list entry (observation ids only).
    """
    if not data.strip():
        summary.error(name, None, None, "file is empty")
        return
    text = _decode(name, data, summary)
    seen = pending  # a trace met again (in this file or an earlier one) replaces the earlier row
    rows = 0
    for line, obj, err in parse_rows(name, text):
        rows += 1
        if err is None:
            try:
                trace = row_to_unified(obj)
            except TraceFieldError as exc:
                err = _RowError(exc.field, exc.message)
        if err is not None:
            summary.failed += 1
            summary.error(name, line, err.field, err.message)
            continue
        key = (trace["source"], trace["source_id"])
        partial = _is_langfuse_summary(obj)
        if key in seen:
            summary.skipped += 1
            earlier = seen[key][2]
            if partial and not seen[key][3]:
                summary.warn(
                    name,
                    line,
                    None,
                    f"trace {trace['source_id']} is a list entry without its observations; the full version "
                    f"in {earlier[0]} line {earlier[1]} is kept",
                )
                continue
            summary.warn(
                name,
                line,
                None,
                f"same trace id {trace['source_id']} as {earlier[0]} line {earlier[1]}; this later row is kept",
            )
        rating = None
        if isinstance(obj, dict):
            field = next((k for k in _LABEL_KEYS if obj.get(k) not in (None, "")), None)
            if field:
                rating = {
                    "value": obj[field],
                    "note": obj.get("rating_note") or obj.get("note"),
                    "file": name,
                    "line": line,
                    "field": field,
                }
        pending[key] = (trace, rating, (name, line), partial)
        if progress and rows % 5000 == 0:
            progress(0, None, f"{name}: read {rows} rows")
    if rows == 0:
        summary.error(name, None, None, "file has no rows (only blank lines or a header)")


def _is_langfuse_summary(obj: Any) -> bool:
    """A Langfuse trace-list entry: its observations are ids, not the observations themselves."""
    if not isinstance(obj, dict) or not is_langfuse_trace(obj) or isinstance(obj.get("trace"), dict):
        return False
    obs = obj.get("observations")
    return isinstance(obs, list) and bool(obs) and not any(isinstance(o, dict) for o in obs)


def _keep_stored_steps(access: Access, trace: Trace) -> Trace:
    """A list entry must not wipe the steps (and what came from them) of the stored full trace."""
    trace = dict(trace)
    stored = trace_store.get_trace_by_source(access, trace["source"], trace["source_id"])
    if stored and stored["steps"]:
        trace["steps"] = stored["steps"]
        for key in ("input", "output", "input_text", "output_text", "latency_ms", "cost_usd"):
            if trace.get(key) in (None, "", 0) and stored.get(key) not in (None, ""):
                trace[key] = stored[key]
    return trace


def _store(
    access: Access,
    pending: dict,
    summary: ImportSummary,
    eval_set: str | None,
    progress: Progress | None,
    criterion: str = "",
) -> None:
    items = [(_keep_stored_steps(access, t) if partial else t, r, w) for t, r, w, partial in pending.values()]
    total = len(items)
    rated: list[tuple[str, dict]] = []
    for start in range(0, total, BATCH):
        chunk = items[start : start + BATCH]
        result = trace_store.upsert_traces(access, [t for t, _, _ in chunk])
        summary.imported += result["imported"]
        summary.updated += result["updated"]
        rated += [(tid, r) for tid, (_, r, _) in zip(result["ids"], chunk, strict=True) if r is not None]
        if progress:
            progress(min(start + BATCH, total), total, f"stored {min(start + BATCH, total)} of {total} traces")
    if not rated:
        return
    if not eval_set:
        summary.ratings.skipped += len(rated)
        summary.warn(
            rated[0][1]["file"],
            None,
            "rating",
            f"{len(rated)} rows carry a rating but no eval set was chosen; ratings not stored "
            "(import again with --eval-set NAME: traces are updated, not duplicated)",
        )
        return
    good = []
    for tid, r in rated:
        try:
            value = review_ratings.normalize_rating(r["value"])
        except ValueError as exc:
            summary.ratings.skipped += 1
            summary.error(r["file"], r["line"], r.get("field", "rating"), str(exc))
            continue
        note = r["note"] if isinstance(r["note"], str) else (None if r["note"] is None else json.dumps(r["note"]))
        good.append({"trace_id": tid, "value": value, "note": note, "rater": f"file:{os.path.basename(r['file'])}"})
    summary.ratings.eval_set, stored = review_ratings.import_ratings(access, eval_set, good, criterion)
    summary.ratings.stored += stored


def _run(
    access: Access,
    files: Iterable[tuple[str, bytes | None, str | None]],
    eval_set: str | None,
    progress: Progress | None,
    criterion: str = "",
) -> ImportSummary:
    access.need("import")
    if eval_set:
        access.need("rate")
    summary = ImportSummary()
    pending: dict = {}
    for name, data, read_error in files:
        if read_error:
            summary.error(name, None, None, read_error)
            continue
        _collect(name, data, summary, pending, progress)
    _store(access, pending, summary, eval_set, progress, criterion)
    if progress:
        progress(
            len(pending),
            len(pending),
            f"done: {summary.imported} new, {summary.updated} updated, {summary.failed} failed",
        )
    return summary


def _read(paths) -> Iterator[tuple[str, bytes | None, str | None]]:
    for p in paths:
        path = Path(p)
        try:
            yield str(path), path.read_bytes(), None
        except IsADirectoryError:
            yield str(path), None, "is a directory, not a file"
        except FileNotFoundError:
            yield str(path), None, "file not found"
        except OSError as exc:
            yield str(path), None, f"cannot read: {exc.strerror or exc}"


def import_files(
    access: Access, paths, eval_set: str | None = None, progress: Progress | None = None, criterion: str = ""
) -> ImportSummary:
    """Import every file: ``{"imported","updated","skipped","failed","errors":[{"file","line","field","message"}]}``.

    Also ``warnings`` (replaced bytes, duplicate rows, unstored ratings) and
    ``ratings`` ({"stored", "skipped", "eval_set"}). Needs ``import`` (and ``rate`` with an eval set).
    A trace repeated across files is imported once; the later file's version is kept.
    ``criterion`` describes the eval set when this import creates it.
    """
    return _run(access, _read(paths), eval_set, progress, criterion)


def import_uploads(
    access: Access,
    uploads: list[tuple[str, bytes]],
    eval_set: str | None = None,
    progress: Progress | None = None,
    criterion: str = "",
) -> ImportSummary:
    """Same as import_files for uploaded files' ``(name, bytes)`` (``name`` picks CSV vs JSON and names errors)."""
    return _run(access, [(name, data, None) for name, data in uploads], eval_set, progress, criterion)


def import_bytes(
    access: Access, name: str, data: bytes, eval_set: str | None = None, progress: Progress | None = None
) -> ImportSummary:
    """import_uploads for one file."""
    return import_uploads(access, [(name, data)], eval_set, progress)
