"""Import cursors: how far an incremental import of a source (e.g. a Langfuse host) got, per workspace."""

from __future__ import annotations

import json

from forge.config import redact_url
from forge.store import utcnow
from forge.store.access import Access

_dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _key(key: str) -> str:
    # A host URL may carry user:password or ?token=: the cursor is kept under the URL without them.
    return redact_url(key) or key


def get_import_cursor(access: Access, source: str, key: str) -> dict | None:
    """How far an incremental import of ``source``/``key`` (e.g. a Langfuse host) got."""
    access.need("read")
    value = access.db.scalar(
        "SELECT position FROM import_cursors WHERE workspace_id = ? AND source = ? AND key = ?",
        [access.workspace_id, source, _key(key)],
    )
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else value


def set_import_cursor(access: Access, source: str, key: str, position: dict) -> None:
    access.need("import")
    workspace_id = access.workspace_id
    access.db.execute(
        "INSERT INTO import_cursors (workspace_id, source, key, position, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (workspace_id, source, key) DO UPDATE SET position = excluded.position,"
        " updated_at = excluded.updated_at",
        [workspace_id, source, _key(key), _dumps(position), utcnow()],
    )
