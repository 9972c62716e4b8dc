"""Traces received over OpenTelemetry: read the stored ones a new batch of spans merges into."""

from __future__ import annotations

import json
from typing import Any

from forge.store.access import Access

_COLUMNS = ("source_id", "name", "input", "output", "steps", "metadata", "tags", "user_id", "session_id")


def _load(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def traces_by_source_id(access: Access, source: str, source_ids: list[str]) -> dict[str, dict]:
    """The stored traces of ``source`` with these source ids (one query), as {source_id: unified fields}.

    Only what a merge needs: name, input, output, steps, metadata, tags, user_id, session_id.
    """
    access.need("read")
    if not source_ids:
        return {}
    rows = access.db.fetchall(
        f"SELECT {', '.join(_COLUMNS)} FROM traces"
        " WHERE workspace_id = ? AND source = ? AND list_contains(?, source_id)",
        [access.workspace_id, source, list(source_ids)],
    )
    out = {}
    for row in rows:
        t = dict(zip(_COLUMNS, row, strict=True))
        for c in ("input", "output", "steps", "metadata"):
            t[c] = _load(t[c])
        t["steps"] = t["steps"] or []
        t["metadata"] = t["metadata"] or {}
        t["tags"] = list(t["tags"] or [])
        out[t["source_id"]] = t
    return out
