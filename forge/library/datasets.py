"""Datasets: named tables of template variable rows (plus an optional expected output and notes), versioned.

A dataset comes from a CSV/JSONL upload (each bad row named by line and column, the valid
rows kept), a grid typed on the Datasets page, or imported traces (a variable per trace
field). Every change is a new version with its author and time; rolling back saves the
old rows again as the newest version, so nothing is ever lost.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from forge.store import datasets as store
from forge.store import traces as trace_store
from forge.store.access import Access

EXPECTED, NOTES = "expected", "notes"
RESERVED = (EXPECTED, NOTES)
SOURCES = ("upload", "grid", "traces", "rollback")
MAX_UPLOAD_BYTES = 20_000_000
MAX_ROWS = 50_000
MAX_NAME = 120
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# Trace fields a dataset built from traces can take a variable from (plus input.KEY / metadata.KEY).
TRACE_FIELDS = ("input_text", "output_text", "name", "user_id", "session_id")


class DatasetError(ValueError):
    """The dataset cannot be saved or read (bad name, nothing valid, unknown dataset)."""


@dataclass(frozen=True)
class Row:
    """One row: a value per variable, and optionally the expected output and a note."""

    vars: dict[str, str]
    expected: str | None = None
    notes: str | None = None

    def to_json(self) -> dict:
        return {"vars": self.vars, "expected": self.expected, "notes": self.notes}


@dataclass(frozen=True)
class RowError:
    """A bad row of an upload: where (line, column) and what is wrong."""

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = ", ".join(p for p in (f"line {self.line}" if self.line else "", self.column or "") if p)
        return f"{where}: {self.message}" if where else self.message

    def to_json(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class Parsed:
    """What an upload, a grid or a trace selection gave: the columns, the valid rows and the errors."""

    columns: list[str]
    rows: list[Row]
    errors: list[RowError] = field(default_factory=list)
    source: str = "upload"


@dataclass(frozen=True)
class DatasetVersion:
    id: str
    dataset_id: str
    name: str
    version: int
    columns: list[str]
    rows: list[Row]
    source: str | None
    note: str | None
    author: str | None
    created_at: datetime

    @property
    def has_expected(self) -> bool:
        return any(r.expected not in (None, "") for r in self.rows)

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


# ---------------------------------------------------------------- parsing


def _text(value: Any) -> str | None:
    """A cell as text; None for an absent value. Numbers and booleans become their JSON text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    raise TypeError(type(value).__name__)


def _check_columns(names: Sequence[str], line: int | None) -> tuple[list[str], list[RowError]]:
    """The variable columns among ``names`` (reserved ones apart) and an error for each bad name."""
    columns: list[str] = []
    errors: list[RowError] = []
    for name in names:
        name = (name or "").strip()
        if name in RESERVED:
            continue
        if not name:
            errors.append(RowError(line, None, "a column has no name: give every column a variable name"))
        elif not _VARIABLE.match(name):
            errors.append(
                RowError(line, name, "not a template variable name (letters, digits, _ . -; no leading digit)")
            )
        elif name in columns:
            errors.append(RowError(line, name, "this column appears twice"))
        else:
            columns.append(name)
    return columns, errors


def _row_from(values: Mapping[str, Any], columns: list[str], line: int | None) -> Row | list[RowError]:
    errors: list[RowError] = []
    out: dict[str, str] = {}
    for col in columns:
        if col not in values:
            errors.append(RowError(line, col, "missing value"))
            continue
        try:
            text = _text(values[col])
        except TypeError as exc:
            errors.append(RowError(line, col, f"expected text or a number, got {exc} (a nested value)"))
            continue
        if text is None:
            errors.append(RowError(line, col, "missing value"))
        else:
            out[col] = text
    extra = [k for k in values if k not in columns and k not in RESERVED]
    for key in extra:
        errors.append(RowError(line, str(key), "unknown column (not in the header / first row)"))
    reserved: dict[str, str | None] = {}
    for key in RESERVED:
        try:
            reserved[key] = _text(values.get(key))
        except TypeError as exc:
            errors.append(RowError(line, key, f"expected text, got {exc}"))
    if errors:
        return errors
    return Row(out, reserved[EXPECTED] or None, reserved[NOTES] or None)


def _decode(name: str, data: bytes) -> str:
    if len(data) > MAX_UPLOAD_BYTES:
        raise DatasetError(f"{name}: larger than {MAX_UPLOAD_BYTES // 1_000_000} MB - split it into smaller files")
    if b"\x00" in data[:4096]:
        raise DatasetError(f"{name}: not a text file (CSV or JSONL expected)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{name}: not UTF-8 text (byte {exc.start}) - save it as UTF-8") from None


def _keep(name: str, got: Row | list[RowError], rows: list[Row], errors: list[RowError]) -> None:
    """A parsed row into ``rows``, or its problems into ``errors``; DatasetError past MAX_ROWS."""
    if isinstance(got, list):
        errors.extend(got)
        return
    rows.append(got)
    if len(rows) > MAX_ROWS:
        raise DatasetError(f"{name}: more than {MAX_ROWS:,} rows - split the dataset")


def parse_csv(name: str, text: str) -> Parsed:
    """A CSV with a header row: one column per variable, plus optional ``expected`` and ``notes``."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise DatasetError(f"{name}: the file is empty - the first line must name the columns") from None
    except csv.Error as exc:
        raise DatasetError(f"{name}: line 1: {exc}") from None
    columns, errors = _check_columns(header, 1)
    if not columns:
        raise DatasetError(f"{name}: line 1 names no variable column (only {', '.join(RESERVED)} or nothing)")
    names = [h.strip() for h in header]
    rows: list[Row] = []
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(reader.line_num, None, str(exc)))
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) != len(names):
            if len(cells) > len(names):
                errors.append(RowError(line, None, f"{len(cells)} cells but the header has {len(names)} columns"))
                continue
            missing = names[len(cells) :]
            errors.append(RowError(line, missing[0], f"missing value (the row has {len(cells)} of {len(names)} cells)"))
            continue
        _keep(name, _row_from(dict(zip(names, cells, strict=True)), columns, line), rows, errors)
    return Parsed(columns, rows, errors)


def parse_jsonl(name: str, text: str) -> Parsed:
    """One JSON object per line; the first object's keys are the columns."""
    columns: list[str] | None = None
    rows: list[Row] = []
    errors: list[RowError] = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            errors.append(RowError(line, None, f"not valid JSON ({exc})"))
            continue
        if not isinstance(obj, dict):
            errors.append(RowError(line, None, f"expected a JSON object, got {type(obj).__name__}"))
            continue
        if columns is None:
            columns, col_errors = _check_columns(list(obj), line)
            errors.extend(col_errors)
            if not columns:
                raise DatasetError(f"{name}: line {line} has no variable field (only {', '.join(RESERVED)})")
        _keep(name, _row_from(obj, columns, line), rows, errors)
    if columns is None:
        raise DatasetError(f"{name}: no JSON object found")
    return Parsed(columns, rows, errors)


def parse_upload(name: str, data: bytes) -> Parsed:
    """A CSV or JSONL (``.jsonl``/``.json``/``.ndjson``) upload; DatasetError for a file unusable as a whole."""
    text = _decode(name, data)
    suffix = Path(name).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return parse_jsonl(name, text)
    if suffix in (".csv", ".tsv", ".txt") or not text.lstrip().startswith("{"):
        return parse_csv(name, text)
    return parse_jsonl(name, text)


def parse_file(path: str | Path) -> Parsed:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return parse_upload(str(path), data)


def from_records(records: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> Parsed:
    """Rows typed in a grid (one mapping per row; a row left wholly empty is skipped); errors by row number."""
    cols, errors = _check_columns(list(columns), None)
    rows: list[Row] = []
    for i, rec in enumerate(records, start=1):
        clean = {k: v for k, v in rec.items() if v is not None and not (isinstance(v, float) and v != v)}
        if not any(str(v).strip() for v in clean.values()):
            continue
        got = _row_from({k: clean.get(k, "") for k in [*cols, *RESERVED] if k in clean or k in cols}, cols, i)
        if isinstance(got, list):
            errors.extend(got)
        else:
            rows.append(got)
    return Parsed(cols, rows, errors, source="grid")


def _trace_value(trace: dict, path: str) -> str | None:
    if path in TRACE_FIELDS:
        return trace.get(path)
    head, _, key = path.partition(".")
    if head in ("input", "output", "metadata") and key:
        value = trace.get(head)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return None
        if isinstance(value, dict) and key in value:
            v = value[key]
            return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return None


def from_traces(
    access: Access, trace_ids: Sequence[str], mapping: Mapping[str, str], expected: str | None = None
) -> Parsed:
    """A row per trace: each variable of ``mapping`` ({variable: field}) from that trace field
    (input_text, output_text, name, input.KEY, metadata.KEY); ``expected`` names the field of the
    expected output (e.g. output_text). A trace without a mapped field is an error naming it."""
    columns, errors = _check_columns(list(mapping), None)
    if not columns:
        raise DatasetError("map at least one variable to a trace field (e.g. question <- input_text)")
    found = trace_store.get_traces(access, list(trace_ids))
    rows: list[Row] = []
    for i, trace_id in enumerate(trace_ids, start=1):
        trace = found.get(trace_id)
        if trace is None:
            errors.append(RowError(i, None, f"trace {trace_id} not found in this workspace"))
            continue
        values: dict[str, str] = {}
        bad = False
        for var in columns:
            value = _trace_value(trace, mapping[var])
            if value is None:
                errors.append(RowError(i, var, f"trace {trace_id} has no {mapping[var]}"))
                bad = True
            else:
                values[var] = value
        if not bad:
            exp = _trace_value(trace, expected) if expected else None
            rows.append(Row(values, exp or None, f"trace {trace_id}"))
    return Parsed(columns, rows, errors, source="traces")


# ---------------------------------------------------------------- storing and reading


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DatasetError("give the dataset a name")
    if len(name) > MAX_NAME:
        raise DatasetError(f"the dataset name is longer than {MAX_NAME} characters")
    return name


def save(access: Access, name: str, parsed: Parsed, note: str | None = None) -> DatasetVersion:
    """Keep the valid rows as a new version of ``name`` (created when missing); DatasetError when none is valid."""
    access.need("edit")
    name = _check_name(name)
    if not parsed.rows:
        first = f" ({parsed.errors[0]})" if parsed.errors else ""
        raise DatasetError(f"no valid row to save{first}")
    current = open_dataset(access, name) if store.find_dataset(access, name) else None
    if current and current.columns == parsed.columns and current.rows == parsed.rows:
        return current  # nothing changed: no new version
    _, version = store.save_version(
        access, name, list(parsed.columns), [r.to_json() for r in parsed.rows], parsed.source, note
    )
    return open_dataset(access, name, version)


def _version(row: dict) -> DatasetVersion:
    rows = [Row(dict(r.get("vars") or {}), r.get("expected"), r.get("notes")) for r in row["rows"]]
    return DatasetVersion(
        row["id"],
        row["dataset_id"],
        row["name"],
        row["version"],
        list(row["columns"]),
        rows,
        row.get("source"),
        row.get("note"),
        row.get("author"),
        row["created_at"],
    )


def list_datasets(access: Access) -> list[dict]:
    """{id, name, current_version, n_rows, columns, versions, updated_at} per dataset."""
    rows = store.list_datasets(access)
    for r in rows:
        if isinstance(r.get("columns"), str):
            r["columns"] = json.loads(r["columns"])
    return rows


def open_dataset(access: Access, name: str, version: int | None = None) -> DatasetVersion:
    """A version of the dataset ``name`` (the current one by default); LookupError naming what is missing."""
    found = store.find_dataset(access, name)
    if found is None:
        known = ", ".join(f"'{d['name']}'" for d in store.list_datasets(access)[:10]) or "none yet"
        raise LookupError(f"no dataset named '{name}' in workspace '{access.workspace.name}' (datasets: {known})")
    row = store.get_version(access, found["id"], version)
    if row is None:
        raise LookupError(f"dataset '{name}' has no version {version} (it has 1 to {found['current_version']})")
    return _version(row)


def open_version_id(access: Access, version_id: str) -> DatasetVersion:
    row = store.get_version_by_id(access, version_id)
    if row is None:
        raise LookupError(f"no dataset version {version_id} in this workspace")
    return _version(row)


def versions(access: Access, name: str) -> list[dict]:
    """Every version of ``name``, newest first: {id, version, n_rows, columns, source, note, created_at, author}."""
    found = store.find_dataset(access, name)
    if found is None:
        raise LookupError(f"no dataset named '{name}'")
    out = store.list_versions(access, found["id"])
    for r in out:
        if isinstance(r.get("columns"), str):
            r["columns"] = json.loads(r["columns"])
    return out


def roll_back(access: Access, name: str, version: int) -> DatasetVersion:
    """Make ``version``'s rows current again, as a new version (the versions in between are kept)."""
    old = open_dataset(access, name, version)
    parsed = Parsed(old.columns, old.rows, source="rollback")
    return save(access, name, parsed, note=f"roll back to v{version}")


def delete(access: Access, name: str) -> None:
    found = store.find_dataset(access, name)
    if found is None:
        raise LookupError(f"no dataset named '{name}'")
    store.delete_dataset(access, found["id"])


def to_records(version: DatasetVersion) -> list[dict]:
    """The rows as flat records (variables, expected, notes) for a grid or an export."""
    return [{**r.vars, EXPECTED: r.expected or "", NOTES: r.notes or ""} for r in version.rows]
