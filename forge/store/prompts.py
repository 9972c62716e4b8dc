"""Saved prompts and their immutable versions (the rules live in ``forge.library.prompts``)."""

from __future__ import annotations

import json

import duckdb

from forge.store import new_id, utcnow
from forge.store.access import Access

_VERSION_COLS = (
    "v.id, v.prompt_id, p.name, v.version, v.system_prompt, v.template, v.params, v.models, v.context,"
    " v.content_hash, v.note, v.author, v.created_at"
)
_FROM = "prompt_versions v JOIN prompts p ON p.id = v.prompt_id"
_JSON = ("params", "models", "context")


def _decode(row: dict) -> dict:
    for col in _JSON:
        if isinstance(row.get(col), str):
            row[col] = json.loads(row[col])
    return row


def add_version(access: Access, name: str, content: dict, note: str | None = None) -> tuple[dict, bool]:
    """Store ``content`` as the next version of prompt ``name`` (created on first save), unless the latest
    version has the same ``content_hash``: then that one is returned. Returns (version row, created). Needs ``edit``."""
    access.need("edit")
    workspace_id, author, now = access.workspace_id, access.user.username, utcnow()

    def txn(cur):
        row = cur.execute("SELECT id FROM prompts WHERE workspace_id = ? AND name = ?", [workspace_id, name]).fetchone()
        if row is None:
            prompt_id = new_id()
            cur.execute(
                "INSERT INTO prompts (id, workspace_id, name, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
                [prompt_id, workspace_id, name, author, now],
            )
            latest = None
        else:
            prompt_id = row[0]
            latest = cur.execute(
                "SELECT id, version, content_hash FROM prompt_versions WHERE prompt_id = ?"
                " ORDER BY version DESC LIMIT 1",
                [prompt_id],
            ).fetchone()
        if latest is not None and latest[2] == content["content_hash"]:
            return latest[0], False
        version_id = new_id()
        cur.execute(
            "INSERT INTO prompt_versions (id, workspace_id, prompt_id, version, system_prompt, template, params,"
            " models, context, content_hash, note, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                version_id,
                workspace_id,
                prompt_id,
                (latest[1] if latest else 0) + 1,
                content["system_prompt"],
                content["template"],
                json.dumps(content["params"]),
                json.dumps(content["models"]),
                json.dumps(content["context"]),
                content["content_hash"],
                note,
                author,
                now,
            ],
        )
        return version_id, True

    # Two saves of one prompt at once: the loser's commit conflicts (retried by write) or its insert meets the
    # winner's committed row (retried here); either way it re-reads the latest version and takes the next number.
    for attempt in range(5):
        try:
            version_id, created = access.db.write(txn)
            break
        except duckdb.ConstraintException:
            if attempt == 4:
                raise
    return version_by_id(access, version_id), created


def version_by_id(access: Access, version_id: str) -> dict | None:
    """One version of this workspace by id, or None."""
    access.need("read")
    rows = access.db.fetchdicts(
        f"SELECT {_VERSION_COLS} FROM {_FROM} WHERE v.id = ? AND v.workspace_id = ?", [version_id, access.workspace_id]
    )
    return _decode(rows[0]) if rows else None


def version_rows(access: Access, name: str) -> list[dict]:
    """Every version of prompt ``name``, oldest first (empty when there is no such prompt)."""
    access.need("read")
    rows = access.db.fetchdicts(
        f"SELECT {_VERSION_COLS} FROM {_FROM} WHERE p.workspace_id = ? AND p.name = ? ORDER BY v.version",
        [access.workspace_id, name],
    )
    return [_decode(r) for r in rows]


def prompt_overview(access: Access) -> list[dict]:
    """Each prompt with its latest version's number, author and time, newest first."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT p.id AS prompt_id, p.name, v.version, v.author, v.created_at AS updated_at, v.id AS version_id,"
        " p.created_by, p.created_at"
        " FROM prompts p JOIN prompt_versions v ON v.prompt_id = p.id"
        " WHERE p.workspace_id = ?"
        " AND v.version = (SELECT max(version) FROM prompt_versions WHERE prompt_id = p.id)"
        " ORDER BY v.created_at DESC, p.name",
        [access.workspace_id],
    )


def version_labels(access: Access, version_ids: list[str]) -> dict[str, str]:
    """``{version id: "name v3"}`` for the ids of this workspace, e.g. to show on runs."""
    access.need("read")
    ids = [i for i in dict.fromkeys(version_ids) if i]
    if not ids:
        return {}
    rows = access.db.fetchall(
        f"SELECT v.id, p.name, v.version FROM {_FROM}"
        f" WHERE v.workspace_id = ? AND v.id IN ({', '.join('?' * len(ids))})",
        [access.workspace_id, *ids],
    )
    return {vid: f"{name} v{version}" for vid, name, version in rows}
