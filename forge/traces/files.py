"""File importer: JSONL / JSON / CSV in the unified shape, OpenAI chat logs, Langfuse trace JSON.

Every row is checked on its own: a bad row becomes an error entry naming the
file, line and field, and the valid rows of the same file are still imported.
A row's optional ``rating`` (with ``rating_note`` or ``note``) goes into the
eval set given by ``eval_set``; without one, ratings are counted as skipped
(with a warning) and nothing is guessed.
"""

from __future__ import annotations

import collections
import csv
import io
import itertools
import json
import os
import re
from array import array
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


def _oversized(obj: Any, line_len: int) -> str | None:
    """The first top-level field larger than MAX_FIELD_BYTES, if any (cheap when the row is small)."""
    if line_len <= MAX_FIELD_BYTES or not isinstance(obj, dict):
        return None
    for key, value in obj.items():
        size = len(value) if isinstance(value, str) else len(json.dumps(value, default=str))
        if size > MAX_FIELD_BYTES:
            return str(key)
    return None


# ---------------------------------------------------------------- nesting depth
#
# Parsing, flattening (to_text) and serialising (json.dumps, content ids) all recurse once per
# level, so a row nested ~1,000 levels deep raised RecursionError out of the importer and lost
# the whole file. Rows deeper than MAX_DEPTH are refused as row errors instead; the check is a
# bracket count (C speed) for nearly every row, and a walk only for rows with many brackets.

MAX_DEPTH = 200
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_ESCAPED_OPEN = ("\\u005b", "\\u005B", "\\u007b", "\\u007B")  # [ and { written as JSON escapes


def _few_brackets(text: str) -> bool:
    """True when ``text`` cannot hold anything nested deeper than MAX_DEPTH (nor JSON text that would)."""
    return text.count("[") + text.count("{") <= MAX_DEPTH and not (
        "\\u00" in text and any(e in text for e in _ESCAPED_OPEN)
    )


def _deep_key_in_text(text: str, limit: int = MAX_DEPTH) -> tuple[int, str | None] | None:
    """(depth reached, top-level key it is under) when JSON ``text`` nests deeper than ``limit``; no recursion."""
    depth, key, last_string = 0, None, None
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok in ("[", "{"):
            if depth == 1:
                key = last_string
            depth += 1
            if depth > limit:
                return depth, key
        elif tok in ("]", "}"):
            depth -= 1
        elif depth == 1:
            try:
                last_string = json.loads(tok)
            except ValueError:
                last_string = None
    return None


def too_deep(obj: Any, limit: int = MAX_DEPTH) -> str | None:
    """The top-level field (``"row"`` for the row itself) holding a value nested deeper than ``limit``.

    Strings that are JSON text (importers parse those) count with the depth of what they hold.
    Iterative, so it never recurses whatever the depth.
    """
    stack: list[tuple[Any, int, str]] = [(obj, 1, "row")]
    while stack:
        value, depth, field = stack.pop()
        if isinstance(value, str):
            if not _few_brackets(value) and value.lstrip()[:1] in ("[", "{"):
                if _deep_key_in_text(value, max(1, limit - depth + 1)) is not None:
                    return field
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > limit:
            return field
        items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
        for k, v in items:
            stack.append((v, depth + 1, str(k) if depth == 1 and k is not None else field))
    return None


def _deep_error(field: str | None) -> _RowError:
    name = None if field in (None, "row") else field
    return _RowError(name, f"nested more than {MAX_DEPTH} levels deep; row refused")


def _load_line(line: str) -> Any:
    """json.loads of one row; a row too deeply nested raises _RowError naming its field."""
    try:
        obj = json.loads(line)
    except RecursionError:
        found = _deep_key_in_text(line)
        raise _deep_error(found[1] if found else None) from None
    if not _few_brackets(line):
        field = too_deep(obj)
        if field:
            raise _deep_error(field)
    return obj


def _jsonl_rows(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, Any, Exception | None]]:
    """Rows of JSON lines: ``lines`` are (line number, text without its newline)."""
    for i, line in lines:
        if not line.strip():
            continue
        try:
            obj = _load_line(line)
        except _RowError as exc:
            yield i, None, exc
            continue
        except ValueError as exc:
            tail = line.rstrip()
            if tail.endswith(","):  # a row copied out of a JSON array
                try:
                    obj = _load_line(tail[:-1])
                except _RowError as deep:
                    yield i, None, deep
                    continue
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


def _csv_rows(lines: Iterable[str], header: str) -> Iterator[tuple[int, Any, Exception | None]]:
    """Rows of CSV text given as lines with their line ends; ``header`` is the first line (for the separator)."""
    csv.field_size_limit(2**31 - 1)
    delimiter = max((",", ";", "\t"), key=header.count)  # the header's most frequent separator
    reader = csv.DictReader(lines, delimiter=delimiter)
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
        if not all(_few_brackets(v) for v in obj.values() if v):  # a cell of JSON text nested too deep
            field = too_deep(obj)
            if field:
                yield line, None, _deep_error(field)
                continue
        yield line, obj, None


def _json_items(obj: Any, text: str) -> Iterator[tuple[int, Any, Exception | None]]:
    """The items of parsed JSON ``text`` (a list, {"data": [...]} or one object); too deep or large ones refused."""
    if isinstance(obj, dict) and isinstance(obj.get("data"), list) and not is_langfuse_trace(obj):
        obj = obj["data"]  # a Langfuse list page, or {"data": [...]}
    items = obj if isinstance(obj, list) else [obj]
    shallow = _few_brackets(text)  # one string count instead of walking every item (as JSON lines are checked)
    text_len = len(text)
    for i, item in enumerate(items, 1):
        field = None if shallow else too_deep(item)
        if field:
            yield i, None, _deep_error(field)
            continue
        key = _oversized(item, text_len)
        if key:
            yield (
                i,
                None,
                _RowError(key, f"field '{key}' is larger than {MAX_FIELD_BYTES // (1024 * 1024)} MB; item refused"),
            )
            continue
        yield i, item, None


def _array_item_texts(text: str) -> Iterator[tuple[int, str]]:
    """(item number, item text) of a JSON array, split without parsing (for arrays too deep to parse whole)."""
    depth, start, n = 0, None, 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{},]', text):
        tok = m.group()
        if tok in ("[", "{"):
            depth += 1
            if depth == 1:
                start = m.end()
        elif tok in ("]", "}"):
            depth -= 1
            if depth == 0 and start is not None:
                if text[start : m.start()].strip():
                    n += 1
                    yield n, text[start : m.start()]
                return
        elif tok == "," and depth == 1 and start is not None:
            n += 1
            yield n, text[start : m.start()]
            start = m.end()


def _deep_document(text: str) -> Iterator[tuple[int, Any, Exception | None]]:
    """A JSON document too deep to parse whole: an array item by item, else one row error."""
    if text.lstrip()[:1] != "[":
        found = _deep_key_in_text(text)
        yield 1, None, _deep_error(found[1] if found else None)
        return
    for i, item in _array_item_texts(text):
        try:
            obj = json.loads(item)
        except RecursionError:
            found = _deep_key_in_text(item)
            yield i, None, _deep_error(found[1] if found else None)
            continue
        except ValueError as exc:
            yield i, None, _RowError(None, f"invalid JSON: {exc}")
            continue
        yield from ((i, o, e) for _, o, e in _json_items([obj], item))


def _first_line(text: str) -> str:
    end = text.find("\n")
    return text if end < 0 else text[:end]


def _is_csv(name: str, stripped: str) -> bool:
    lower = name.lower()
    return lower.endswith((".csv", ".tsv")) or (
        not lower.endswith((".jsonl", ".ndjson", ".json"))
        and stripped[:1] not in ("{", "[")
        and any(c in _first_line(stripped) for c in ",;\t")
    )


def _is_document(name: str, stripped: str) -> bool:
    """Whether the text should first be read as one JSON document (an array, an object, a pretty-printed one)."""
    pretty = _first_line(stripped).strip() in ("{", "[")  # a pretty-printed JSON document, whatever the file is called
    return stripped[:1] == "[" or (stripped[:1] == "{" and (pretty or not name.lower().endswith((".jsonl", ".ndjson"))))


def parse_rows(name: str, text: str) -> Iterator[tuple[int, Any, Exception | None]]:
    """(line or item number, parsed row or None, error or None) for every row of a file."""
    stripped = text.lstrip()
    if _is_csv(name, stripped):
        yield from _csv_rows(io.StringIO(text, newline=""), _first_line(text))
        return
    if _is_document(name, stripped):
        try:
            obj = json.loads(text)
        except RecursionError:
            yield from _deep_document(text)
            return
        except ValueError as exc:
            if stripped[:1] == "[":
                yield getattr(exc, "lineno", None), None, _RowError(None, f"invalid JSON: {exc}")
                return
        else:
            yield from _json_items(obj, text)
            return
    yield from _jsonl_rows(enumerate(text.split("\n"), 1))


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
    """Any supported row -> unified trace of source ``file`` (TraceFieldError names the bad field).

    A file writes only its own namespace: a row claiming another source (``"source":
    "langfuse"``, a Langfuse export) cannot overwrite that source's traces; what it claimed is
    kept in the trace's metadata (``source``), its id stays the trace's source id.
    """
    if not isinstance(obj, dict):
        raise TraceFieldError("row", f"expected a JSON object, got {type(obj).__name__}")
    try:
        trace = _unified(obj)
    except RecursionError:  # JSON text inside a field, nested deeper than the row checks saw
        field = too_deep(obj, 1) or None
        raise TraceFieldError(field if field != "row" else None, "nested too deeply; row refused") from None
    claimed = trace.get("source")
    if claimed != "file":
        trace["source"] = "file"
        trace["metadata"] = {"source": claimed, **trace["metadata"]}
    elif isinstance(obj.get("source"), str) and obj["source"] != "file" and "source" not in trace["metadata"]:
        trace["metadata"] = {"source": obj["source"], **trace["metadata"]}
    return trace


def _unified(obj: dict) -> Trace:
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


# ---------------------------------------------------------------- reading files as a stream
#
# A file is read line by line (JSONL, CSV) or item by item (a JSON array) and stored BATCH rows
# at a time while the next batch is parsed, so memory stays flat whatever the file's size. A
# file that is one JSON object (a Langfuse export, {"data": [...]}) is the exception: it is
# parsed whole; its rows are still stored in batches.

_READ_CHUNK = 1 << 20


class _Source:
    """One file to import: its name, size and how to open it (a path, or uploaded bytes)."""

    def __init__(self, name: str, size: int, opener=None, error: str | None = None):
        self.name, self.size, self.opener, self.error = name, size, opener, error


class _Reader:
    """Decoded lines of one file (with their line ends), counting the bytes read for progress."""

    def __init__(self, name: str, raw: io.BufferedIOBase, summary: ImportSummary, on_bytes):
        self.name, self.raw, self.summary, self.on_bytes = name, raw, summary, on_bytes
        self.line = 0
        self.empty = False  # nothing but whitespace (said once, as "file is empty")

    def lines(self) -> Iterator[str]:
        first = self.raw.readline()
        if first[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its BOM (Excel's "Unicode text")
            yield from self._utf16(first)
            return
        if first[:3] == b"\xef\xbb\xbf":
            first = first[3:]
            self.on_bytes(3)
        if first:
            yield self._decode(first)
        for raw in self.raw:
            yield self._decode(raw)

    def _decode(self, raw: bytes) -> str:
        self.line += 1
        self.on_bytes(len(raw))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.summary.warn(
                self.name,
                self.line,
                None,
                f"not valid UTF-8 (byte {exc.start + 1} of the line): undecodable bytes replaced by U+FFFD",
            )
            return raw.decode("utf-8", errors="replace")

    def _utf16(self, head: bytes) -> Iterator[str]:
        data = head + self.raw.read()  # rare (spreadsheets' "Unicode text"): decoded whole
        self.on_bytes(len(data))
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = data.decode("utf-16", errors="replace")
            self.summary.warn(self.name, None, None, "not valid UTF-16: undecodable bytes replaced by U+FFFD")
        for line in re.finditer(r"[^\n]*\n|[^\n]+$", text):  # split on "\n" only, as the UTF-8 path does
            yield line.group()


def _stream_rows(name: str, reader: _Reader, summary: ImportSummary) -> Iterator[tuple[int, Any, Exception | None]]:
    """parse_rows over a stream: the same rows, line numbers and errors, read line by line."""
    lines = reader.lines()
    head: list[str] = []
    for line in lines:
        head.append(line)
        if line.strip():
            break
    text = "".join(head)
    if not text.strip():
        reader.empty = True
        summary.error(name, None, None, "file is empty")
        return
    stripped = text.lstrip()
    rest = itertools.chain(head, lines)
    if _is_csv(name, stripped):
        yield from _csv_rows(_csv_lines(rest), _first_line(stripped))
        return
    if _is_document(name, stripped):
        more = False  # a second row after a one-line object: JSON lines, read as a stream
        if stripped[:1] == "{" and _is_single_value(stripped):
            for line in lines:
                head.append(line)
                if line.strip():
                    more = True
                    break
            rest = itertools.chain(head, lines)
        if stripped[:1] == "[":
            yield from _array_rows(rest)
            return
        if not more:
            # one JSON object (or, failing that, JSON lines): JSON has no line to stop at, so it is read whole
            yield from parse_rows(name, "".join(rest))
            return
    n = 0

    def numbered():
        nonlocal n
        for line in rest:
            n += 1
            yield n, line[:-1] if line.endswith("\n") else line

    yield from _jsonl_rows(numbered())


_WS = re.compile(r"[ \t\n\r]*")
_ARRAY_READ = 1 << 20  # characters read ahead at a time


def _array_rows(lines: Iterator[str]) -> Iterator[tuple[int, Any, Exception | None]]:
    """The items of a JSON array file, decoded one at a time as the text arrives (item numbers as rows).

    Same items and item numbers as parsing the whole array; an error names its line like
    ``json.loads`` would (line, column and character of the whole file), and the items before
    it are kept. An item nested too deep is a row error of its own.
    """
    decoder = json.JSONDecoder()
    buf, pos, eof = "", 0, False
    base_line, base_char = 1, 0  # where buf starts in the file

    def fill(at_least: int = _ARRAY_READ) -> bool:
        """Read more text (whole lines); False at the end of the file."""
        nonlocal buf, pos, eof, base_line, base_char
        if pos > _ARRAY_READ:  # drop what is consumed, at a line start (columns stay right)
            cut = buf.rfind("\n", 0, pos) + 1
            if cut:
                base_line += buf.count("\n", 0, cut)
                base_char += cut
                buf, pos = buf[cut:], pos - cut
        got, parts = 0, []
        for line in lines:
            parts.append(line)
            got += len(line)
            if got >= at_least:
                break
        else:
            eof = True
        buf += "".join(parts)
        return bool(parts)

    def skip_ws() -> None:
        nonlocal pos
        while True:
            pos = _WS.match(buf, pos).end()
            if pos < len(buf) or eof or not fill():
                return

    def error(message: str, at: int) -> tuple[int, None, _RowError]:
        line = base_line + buf.count("\n", 0, at)
        column = at - buf.rfind("\n", 0, at)
        return (
            line,
            None,
            _RowError(None, f"invalid JSON: {message}: line {line} column {column} (char {base_char + at})"),
        )

    fill()
    skip_ws()
    pos += 1  # the "[" the caller saw
    n, want = 0, 1 << 16  # item number; how much more to read when an item is cut off
    skip_ws()
    if buf[pos : pos + 1] == "]":
        pos += 1
    else:
        while True:
            skip_ws()
            try:
                obj, end = decoder.raw_decode(buf, pos)
                if end == len(buf) and not eof:  # a number may go on in the next line
                    raise json.JSONDecodeError("cut off", buf, end)
            except json.JSONDecodeError as exc:
                if not eof and fill(want):
                    want *= 2  # an item larger than what was read: read more, then again
                    continue
                yield error(exc.msg, exc.pos)
                return
            except RecursionError:
                end = _end_of_value(buf, pos)
                if end is None:
                    if not eof and fill(want):
                        want *= 2
                        continue
                    yield error("Expecting value", pos)
                    return
                n += 1
                found = _deep_key_in_text(buf[pos:end])
                yield n, None, _deep_error(found[1] if found else None)
                pos, want = end, 1 << 16
            else:
                n += 1
                yield from ((n, o, e) for _, o, e in _json_items([obj], buf[pos:end]))
                pos, want = end, 1 << 16
            skip_ws()
            sep = buf[pos : pos + 1]
            if sep == ",":
                pos += 1
                continue
            if sep == "]":
                pos += 1
                break
            yield error("Expecting ',' delimiter", pos)
            return
    skip_ws()
    if pos < len(buf):
        yield error("Extra data", pos)


def _end_of_value(text: str, start: int) -> int | None:
    """Where the array or object starting at ``start`` ends (past its closing bracket), without parsing it."""
    depth = 0
    for m in _TOKENS.finditer(text, start):
        tok = m.group()
        if tok in ("[", "{"):
            depth += 1
        elif tok in ("]", "}"):
            depth -= 1
            if depth == 0:
                return m.end()
    return None


def _is_single_value(text: str) -> bool:
    """Whether the line is one complete JSON value (a one-line document)."""
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _csv_lines(lines: Iterable[str]) -> Iterator[str]:
    """Lines as ``io.StringIO(newline="")`` splits them: a lone CR ends a line too."""
    for line in lines:
        if "\r" in line.rstrip("\r\n"):
            yield from re.split(r"(?<=\r)(?!\n)", line)
        else:
            yield line


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


class _SeenIds:
    """Where each source id of an import was last met, in two flat int64 arrays (~32 bytes an id).

    An open-addressing table keyed by the id's 64-bit hash: a dict of a million id strings
    costs ~130 MB, this ~32 MB. Two ids with the same 64-bit hash (odds ~1e-8 in a million
    rows) would be reported as one trace met twice; both rows are still written.
    """

    def __init__(self, capacity: int = 1 << 12):
        self.mask = capacity - 1
        self.keys = array("q", bytes(8 * capacity))
        self.values = array("q", bytes(8 * capacity))
        self.n = 0

    @staticmethod
    def _hash(key: str) -> int:
        return hash(key) or 1  # 0 marks an empty slot

    def _slot(self, h: int) -> int:
        keys, mask = self.keys, self.mask
        i = h & mask
        while keys[i] != 0 and keys[i] != h:
            i = (i + 1) & mask
        return i

    def get(self, key: str) -> int | None:
        h = self._hash(key)
        i = self._slot(h)
        return self.values[i] if self.keys[i] == h else None

    def set(self, key: str, value: int) -> None:
        h = self._hash(key)
        i = self._slot(h)
        if self.keys[i] == 0:
            self.n += 1
            if 2 * self.n > self.mask:
                self._grow()
                i = self._slot(h)
        self.keys[i], self.values[i] = h, value

    def _grow(self) -> None:
        old_keys, old_values = self.keys, self.values  # read in place: no list of a million pairs
        capacity = 2 * (self.mask + 1)
        self.mask = capacity - 1
        self.keys = array("q", bytes(8 * capacity))
        self.values = array("q", bytes(8 * capacity))
        for k, v in zip(old_keys, old_values, strict=True):
            if k != 0:
                i = self._slot(k)
                self.keys[i], self.values[i] = k, v


class _Import:
    """One import run: rows streamed from the files into batches, stored while the next batch is parsed.

    The summary is what reading everything first gave: a trace met again (in this file or an
    earlier one) counts once as imported or updated and again as skipped, the later row is the
    one kept; a Langfuse list entry never replaces the full trace met before it.
    """

    def __init__(self, access: Access, eval_set: str | None, progress: Progress | None, criterion: str):
        self.access, self.eval_set, self.progress, self.criterion = access, eval_set, progress, criterion
        self.summary = ImportSummary()
        self.files: list[str] = []
        # source id -> where it was last met, packed in one int (line, file, list entry)
        self.seen = _SeenIds()
        self.queue: collections.deque = collections.deque()  # per batch: its ratings and repeats, in write order
        self.read_bytes = 0
        self.total_bytes = 0
        self.rows = 0
        self.rated = 0
        self.first_rated_file: str | None = None
        self.rating_errors: list[tuple[str, int, str, str]] = []

    # ------------------------------------------------------------ reading

    def _count(self, n: int) -> None:
        self.read_bytes += n

    def _where(self, code: int) -> tuple[str, int, bool]:
        return self.files[(code >> 1) & 0xFFF], code >> 13, bool(code & 1)

    def batches(self, sources: list[_Source]) -> Iterator[list[Trace]]:
        """Lists of at most BATCH traces, in file order; what each needs after its write is queued."""
        batch: list[Trace] = []
        meta: list = []  # (rating or None) per trace of the batch
        fresh: set[str] = set()  # ids first met in this batch
        repeated: set[str] = set()  # ids first met in an earlier batch, met again in this one
        for source in sources:
            if source.error:
                self.summary.error(source.name, None, None, source.error)
                continue
            if len(self.files) >= 0xFFF:
                raise ValueError("at most 4,095 files in one import")
            self.files.append(source.name)
            file_no = len(self.files) - 1
            try:
                raw = source.opener()
            except OSError as exc:
                self.summary.error(source.name, None, None, f"cannot read: {exc.strerror or exc}")
                continue
            with raw:
                rows = 0
                reader = _Reader(source.name, raw, self.summary, self._count)
                for line, obj, err in _stream_rows(source.name, reader, self.summary):
                    rows += 1
                    entry = self._row(source.name, file_no, line, obj, err, fresh, repeated)
                    if entry is not None:
                        batch.append(entry[0])
                        meta.append(entry[1])
                    if len(batch) >= BATCH:
                        self.queue.append((meta, len(repeated)))
                        yield batch
                        batch, meta, fresh, repeated = [], [], set(), set()
                        self._report(source.name)
                if rows == 0 and not reader.empty:
                    self.summary.error(source.name, None, None, "file has no rows (only blank lines or a header)")
            self._report(source.name)
        if batch:
            self.queue.append((meta, len(repeated)))
            yield batch

    def _row(self, name, file_no, line, obj, err, fresh, repeated):
        """The (trace, rating) a row adds to the batch, or None (a bad row, a list entry of a kept trace)."""
        self.rows += 1
        summary = self.summary
        if err is None:
            try:
                trace = row_to_unified(obj)
            except TraceFieldError as exc:
                err = _RowError(exc.field, exc.message)
        if err is not None:
            summary.failed += 1
            summary.error(name, line, err.field, err.message)
            return None
        key = trace["source_id"]
        partial = _is_langfuse_summary(obj)
        code = (line << 13) | (file_no << 1) | int(partial)
        earlier = self.seen.get(key)
        if earlier is not None:
            summary.skipped += 1
            where, at, was_partial = self._where(earlier)
            if partial and not was_partial:
                summary.warn(
                    name,
                    line,
                    None,
                    f"trace {key} is a list entry without its observations; "
                    f"the full version in {where} line {at} is kept",
                )
                return None
            summary.warn(name, line, None, f"same trace id {key} as {where} line {at}; this later row is kept")
            if key not in fresh:
                repeated.add(key)  # stored by an earlier batch: its write here is not an update of the workspace
        else:
            fresh.add(key)
        self.seen.set(key, code)
        if partial:
            trace = _keep_stored_steps(self.access, trace)
        rating = None
        if isinstance(obj, dict):
            field = next((k for k in _LABEL_KEYS if obj.get(k) not in (None, "")), None)
            if field:
                rating = (obj[field], obj.get("rating_note") or obj.get("note"), name, line, field)
        return trace, rating

    def _report(self, name: str) -> None:
        if self.progress:
            mb, total = self.read_bytes / 1e6, self.total_bytes / 1e6
            self.progress(
                min(self.read_bytes, self.total_bytes),
                self.total_bytes or None,
                f"{os.path.basename(name)}: read {mb:,.1f} of {total:,.1f} MB, {self.rows:,} rows",
            )

    # ------------------------------------------------------------ after each write

    def stored(self, batch: list[Trace], result: dict) -> None:
        """Count a written batch and store its ratings (called in order, once per batch)."""
        meta, repeated = self.queue.popleft()
        self.summary.imported += result["imported"]
        self.summary.updated += result["updated"] - repeated
        rated = [(tid, r) for tid, r in zip(result["ids"], meta, strict=True) if r is not None]
        if not rated:
            return
        self.rated += len(rated)
        self.first_rated_file = self.first_rated_file or rated[0][1][2]
        if not self.eval_set:
            return
        good = []
        for tid, (value, note, name, line, field) in rated:
            try:
                value = review_ratings.normalize_rating(value)
            except ValueError as exc:
                self.summary.ratings.skipped += 1
                self.rating_errors.append((name, line, field, str(exc)))
                continue
            note = note if isinstance(note, str) else (None if note is None else json.dumps(note))
            good.append({"trace_id": tid, "value": value, "note": note, "rater": f"file:{os.path.basename(name)}"})
        self.summary.ratings.eval_set, n = review_ratings.import_ratings(
            self.access, self.eval_set, good, self.criterion
        )
        self.summary.ratings.stored += n

    def finish(self) -> ImportSummary:
        summary = self.summary
        for name, line, field, message in self.rating_errors:  # after the row errors, as before
            summary.error(name, line, field, message)
        if self.rated and not self.eval_set:
            summary.ratings.skipped += self.rated
            summary.warn(
                self.first_rated_file,
                None,
                "rating",
                f"{self.rated} rows carry a rating but no eval set was chosen; ratings not stored "
                "(import again with --eval-set NAME: traces are updated, not duplicated)",
            )
        return summary


def _run(
    access: Access,
    sources: list[_Source],
    eval_set: str | None,
    progress: Progress | None,
    criterion: str = "",
) -> ImportSummary:
    access.need("import")
    if eval_set:
        access.need("rate")
    run = _Import(access, eval_set, progress, criterion)
    run.total_bytes = sum(s.size for s in sources if not s.error)
    trace_store.upsert_batches(access, run.batches(sources), done=run.stored, keep_results=False)
    summary = run.finish()
    if progress:
        progress(
            run.total_bytes,
            run.total_bytes,
            f"done: {summary.imported} new, {summary.updated} updated, {summary.failed} failed",
        )
    return summary


def _read(paths) -> list[_Source]:
    out = []
    for p in paths:
        path = Path(p)
        try:
            if path.is_dir():
                out.append(_Source(str(path), 0, error="is a directory, not a file"))
                continue
            size = path.stat().st_size
        except FileNotFoundError:
            out.append(_Source(str(path), 0, error="file not found"))
            continue
        except OSError as exc:
            out.append(_Source(str(path), 0, error=f"cannot read: {exc.strerror or exc}"))
            continue
        out.append(_Source(str(path), size, opener=lambda path=path: open(path, "rb", buffering=_READ_CHUNK)))
    return out


def _uploaded(uploads: list[tuple[str, bytes]]) -> list[_Source]:
    return [_Source(name, len(data), opener=lambda data=data: io.BytesIO(data)) for name, data in uploads]


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
    return _run(access, _uploaded(uploads), eval_set, progress, criterion)


def import_bytes(
    access: Access, name: str, data: bytes, eval_set: str | None = None, progress: Progress | None = None
) -> ImportSummary:
    """import_uploads for one file."""
    return import_uploads(access, [(name, data)], eval_set, progress)
