"""The context library: named, tagged, reusable documents (typed text or txt, md, csv, json, pdf files).

A document can be edited; prompt versions keep their own copy of the text they were saved with
(see ``forge.library.prompts``), so an edit shows up in the next saved version, never in old ones.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

from forge.llm.prompts import MAX_CONTEXT_FILE_BYTES, ContextBlock, PromptError, context_from_bytes
from forge.store import contexts as doc_store
from forge.store.access import Access

# Files are refused above this size, the same limit as a playground context file.
MAX_DOCUMENT_BYTES = MAX_CONTEXT_FILE_BYTES
FILE_KINDS = ("txt", "md", "csv", "json", "pdf")
_TAG = re.compile(r"^[\w .:/+-]{1,40}$")


class DocumentError(ValueError):
    """A document cannot be stored: bad name, tag, file type, size or unreadable content."""


@dataclass(frozen=True)
class ContextDoc:
    """A library document; ``text`` is a 400-character preview in search results (``chars`` is the full length)."""

    id: str
    name: str
    tags: list[str]
    text: str
    kind: str  # typed | txt | md | csv | json | pdf
    filename: str | None
    size_bytes: int | None
    content_hash: str
    created_by: str | None
    created_at: datetime
    updated_by: str | None
    updated_at: datetime
    chars: int

    def block(self) -> ContextBlock:
        return ContextBlock(self.name, self.text)


def _doc(row: dict) -> ContextDoc:
    text = row.get("text", row.get("preview")) or ""
    fields = {k: row.get(k) for k in ContextDoc.__dataclass_fields__ if k not in ("text", "chars", "tags")}
    return ContextDoc(**fields, tags=list(row.get("tags") or []), text=text, chars=row.get("chars") or len(text))


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise DocumentError("A document needs a name of 1-200 characters.")
    return name


def parse_tags(tags: str | list[str] | None) -> list[str]:
    """Tags from a list or a comma-separated string: trimmed, lower case, without repeats."""
    items = tags.split(",") if isinstance(tags, str) else list(tags or [])
    out: list[str] = []
    for tag in (t.strip().lower() for t in items):
        if not tag:
            continue
        if not _TAG.match(tag):
            raise DocumentError(f"Tag {tag!r}: use up to 40 letters, digits, spaces or . : / + - _")
        if tag not in out:
            out.append(tag)
    return out


def extract_text(filename: str, data: bytes) -> tuple[str, str]:
    """(kind, text) of an uploaded file; DocumentError naming the file for a wrong type, size or content."""
    kind = PurePath(filename).suffix.lower().lstrip(".")
    if kind == "markdown":
        kind = "md"
    if kind not in FILE_KINDS:
        raise DocumentError(
            f"{filename}: a context document is a {', '.join(FILE_KINDS[:-1])} or {FILE_KINDS[-1]} file"
            f" (not .{kind or '?'})"
        )
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(
            f"{filename} is {len(data) / 1e6:.1f} MB; the limit for a context document is"
            f" {MAX_DOCUMENT_BYTES / 1e6:g} MB (MAX_CONTEXT_FILE_BYTES)"
        )
    if kind == "pdf":
        return kind, _pdf_text(filename, data)
    try:  # the Playground's reading of a context file: text only, UTF-8 else Latin-1
        text = context_from_bytes(filename, data).text
    except PromptError as exc:
        raise DocumentError(str(exc)) from None
    if kind == "json":
        try:
            json.loads(text)
        except ValueError as exc:
            raise DocumentError(f"{filename}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return kind, text


def _pdf_text(filename: str, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError(f"{filename}: the PDF is encrypted; save an unprotected copy first")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except DocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"{filename}: not a readable PDF ({exc})") from None
    text = "\n\n".join(p for p in pages if p)
    if not text:
        raise DocumentError(f"{filename}: the PDF has no text to extract (a scan needs OCR first)")
    return text


def add_text(access: Access, name: str, text: str, tags: str | list[str] | None = None) -> ContextDoc:
    """A new document from typed text. Needs ``edit``."""
    if not (text or "").strip():
        raise DocumentError("The document is empty - type some text.")
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"The text is larger than the {MAX_DOCUMENT_BYTES / 1e6:g} MB limit for a document.")
    return _add(access, _name(name), text, "typed", None, len(text.encode("utf-8")), parse_tags(tags))


def add_file(
    access: Access, filename: str, data: bytes, name: str | None = None, tags: str | list[str] | None = None
) -> ContextDoc:
    """A new document from an uploaded file (named after the file unless ``name``). Needs ``edit``."""
    access.need("edit")
    kind, text = extract_text(filename, data)
    if not text.strip():
        raise DocumentError(f"{filename} is empty.")
    return _add(access, _name(name or filename), text, kind, filename, len(data), parse_tags(tags))


def _add(access: Access, name: str, text: str, kind: str, filename: str | None, size: int, tags: list[str]):
    access.need("edit")
    if doc_store.find_doc(access, name) is not None:
        raise DocumentError(f"There is already a document called {name!r}; pick another name or edit that one.")
    doc_id = doc_store.insert_doc(
        access,
        {
            "name": name,
            "tags": tags,
            "text": text,
            "kind": kind,
            "filename": filename,
            "size_bytes": size,
            "content_hash": text_hash(text),
        },
    )
    return get(access, doc_id)


def update(
    access: Access,
    doc_id: str,
    name: str | None = None,
    text: str | None = None,
    tags: str | list[str] | None = None,
) -> ContextDoc:
    """Rename, retag or change a document's text. Saved prompt versions keep the text they were saved with."""
    access.need("edit")
    current = get(access, doc_id)
    changes: dict = {}
    if name is not None and _name(name) != current.name:
        if doc_store.find_doc(access, _name(name)) is not None:
            raise DocumentError(f"There is already a document called {name.strip()!r}.")
        changes["name"] = _name(name)
    if text is not None and text != current.text:
        if not text.strip():
            raise DocumentError("The document is empty - type some text.")
        changes.update(text=text, content_hash=text_hash(text), size_bytes=len(text.encode("utf-8")))
    if tags is not None:
        changes["tags"] = parse_tags(tags)
    if changes:
        doc_store.update_doc(access, doc_id, changes)
    return get(access, doc_id)


def delete(access: Access, doc_id: str) -> bool:
    """Remove a document from the library; prompt versions that used it keep their copy."""
    return doc_store.delete_doc(access, doc_id)


def get(access: Access, doc_id: str) -> ContextDoc:
    """A document whole; LookupError when it is not in this workspace's library."""
    rows = doc_store.get_docs(access, [doc_id])
    if not rows:
        raise LookupError(f"No context document {doc_id!r} in workspace '{access.workspace.name}'")
    return _doc(rows[0])


def get_many(access: Access, doc_ids: list[str]) -> list[ContextDoc]:
    """Documents whole, in the order asked; LookupError naming the ids that are missing."""
    rows = doc_store.get_docs(access, list(doc_ids))
    missing = [i for i in doc_ids if i not in {r["id"] for r in rows}]
    if missing:
        raise LookupError(f"No context document {', '.join(map(repr, missing))} in workspace '{access.workspace.name}'")
    return [_doc(r) for r in rows]


def by_name(access: Access, name: str) -> ContextDoc:
    """The document called ``name``; LookupError when missing."""
    row = doc_store.find_doc(access, (name or "").strip())
    if row is None:
        raise LookupError(f"No context document called {name!r} in workspace '{access.workspace.name}'")
    return _doc(row)


def search(access: Access, query: str = "", tags: list[str] | None = None, limit: int = 200) -> list[ContextDoc]:
    """Documents whose name, a tag or the text contains ``query`` and that carry every one of ``tags``."""
    wanted = [t.strip().lower() for t in tags or [] if t.strip()]
    return [_doc(r) for r in doc_store.search_docs(access, query, wanted, limit)]


def tags(access: Access) -> list[str]:
    """Every tag in the library."""
    return doc_store.doc_tags(access)


def existing_ids(access: Access, doc_ids: list[str]) -> set[str]:
    """The ids of ``doc_ids`` still in the library."""
    return set(doc_store.doc_hashes(access, list(doc_ids)))
