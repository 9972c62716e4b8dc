"""Context documents of the library (the rules live in ``forge.library.contexts``)."""

from __future__ import annotations

from forge.store import new_id, utcnow
from forge.store.access import Access

_COLS = "id, name, tags, text, kind, filename, size_bytes, content_hash, created_by, created_at, updated_by, updated_at"
_UPDATABLE = ("name", "tags", "text", "kind", "filename", "size_bytes", "content_hash")


def find_doc(access: Access, name: str) -> dict | None:
    """The document called ``name`` here, or None."""
    access.need("read")
    rows = access.db.fetchdicts(
        f"SELECT {_COLS} FROM context_docs WHERE workspace_id = ? AND name = ?", [access.workspace_id, name]
    )
    return rows[0] if rows else None


def get_docs(access: Access, doc_ids: list[str]) -> list[dict]:
    """Documents by id, in the order asked (other workspaces' and missing ids left out)."""
    access.need("read")
    ids = list(dict.fromkeys(doc_ids))
    if not ids:
        return []
    rows = access.db.fetchdicts(
        f"SELECT {_COLS} FROM context_docs WHERE workspace_id = ? AND id IN ({', '.join('?' * len(ids))})",
        [access.workspace_id, *ids],
    )
    by_id = {r["id"]: r for r in rows}
    return [by_id[i] for i in doc_ids if i in by_id]


def insert_doc(access: Access, doc: dict) -> str:
    """Store a new document (name, tags, text, kind, filename, size_bytes, content_hash); returns its id."""
    access.need("edit")
    doc_id, now, user = new_id(), utcnow(), access.user.username
    values = [doc_id, doc["name"], list(doc["tags"]), doc["text"], doc["kind"], doc.get("filename")]
    values += [doc.get("size_bytes"), doc["content_hash"], user, now, user, now]
    access.db.write(
        lambda cur: cur.execute(
            f"INSERT INTO context_docs (workspace_id, {_COLS}) VALUES (?, {', '.join('?' * len(values))})",
            [access.workspace_id, *values],
        )
    )
    return doc_id


def update_doc(access: Access, doc_id: str, changes: dict) -> bool:
    """Change a document's fields (see ``_UPDATABLE``); False when there is no such document here."""
    access.need("edit")
    cols = [c for c in _UPDATABLE if c in changes]
    values = [list(changes[c]) if c == "tags" else changes[c] for c in cols]
    sets = ", ".join(f"{c} = ?" for c in cols + ["updated_by", "updated_at"])
    n = access.db.write(
        lambda cur: cur.execute(
            f"UPDATE context_docs SET {sets} WHERE id = ? AND workspace_id = ?",
            [*values, access.user.username, utcnow(), doc_id, access.workspace_id],
        ).fetchone()[0]
    )
    return bool(n)


def delete_doc(access: Access, doc_id: str) -> bool:
    """Remove a document from the library (prompt versions keep their own copy of its text)."""
    access.need("edit")
    n = access.db.write(
        lambda cur: cur.execute(
            "DELETE FROM context_docs WHERE id = ? AND workspace_id = ?", [doc_id, access.workspace_id]
        ).fetchone()[0]
    )
    return bool(n)


def search_docs(access: Access, text: str | None = None, tags: list[str] | None = None, limit: int = 200) -> list[dict]:
    """Documents whose name, a tag or the text contains ``text`` (any case) and that carry every tag of ``tags``;
    by name. The text is cut to 400 characters (a preview); ``get_docs`` reads it whole."""
    access.need("read")
    where, params = ["workspace_id = ?"], [access.workspace_id]
    if text and text.strip():
        like = f"%{text.strip()}%"
        where.append("(name ILIKE ? OR text ILIKE ? OR len(list_filter(tags, lambda t: t ILIKE ?)) > 0)")
        params += [like, like, like]
    for tag in tags or []:
        where.append("list_contains(tags, ?)")
        params.append(tag)
    params.append(int(limit))
    return access.db.fetchdicts(
        "SELECT id, name, tags, left(text, 400) AS preview, length(text) AS chars, kind, filename, size_bytes,"
        " content_hash, created_by, created_at, updated_by, updated_at"
        f" FROM context_docs WHERE {' AND '.join(where)} ORDER BY lower(name) LIMIT ?",
        params,
    )


def doc_tags(access: Access) -> list[str]:
    """Every tag used in the library, sorted."""
    access.need("read")
    return [
        r[0]
        for r in access.db.fetchall(
            "SELECT DISTINCT unnest(tags) AS t FROM context_docs WHERE workspace_id = ? ORDER BY t",
            [access.workspace_id],
        )
    ]


def doc_hashes(access: Access, doc_ids: list[str]) -> dict[str, str]:
    """``{doc id: current content hash}`` for the ids still in the library."""
    access.need("read")
    ids = [i for i in dict.fromkeys(doc_ids) if i]
    if not ids:
        return {}
    rows = access.db.fetchall(
        f"SELECT id, content_hash FROM context_docs WHERE workspace_id = ? AND id IN ({', '.join('?' * len(ids))})",
        [access.workspace_id, *ids],
    )
    return dict(rows)
