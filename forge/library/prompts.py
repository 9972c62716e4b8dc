"""Saved prompts: a name in the workspace, one immutable version per save of changed content.

A version holds the system prompt, the template, the parameters, the chosen models and its context:
library documents by id *and* a copy of their text as saved (plus any typed blocks), so editing a
document later never changes what an old version sends; saving again picks the edit up as a new version.
Variable values are inputs (a dataset's rows, the playground's fields), not part of a prompt.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from forge.library import contexts
from forge.llm.prompts import ContextBlock, PromptSpec
from forge.store import contexts as doc_store
from forge.store import prompts as prompt_store
from forge.store.access import Access


@dataclass(frozen=True)
class PromptVersion:
    """One saved version of a prompt."""

    id: str  # the version's id; stored on runs.prompt_version_id
    prompt_id: str
    name: str
    version: int  # 1, 2, ...
    system: str | None
    template: str
    params: dict  # {"temperature": float|None, "max_tokens": int|None, "stream": bool}
    models: list[str]
    context_ids: list[str]  # library documents attached (their text as saved is in ``context``)
    author: str  # username
    created_at: datetime
    context: list[dict] = field(default_factory=list)  # [{doc_id|None, name, text, hash}] as saved
    content_hash: str = ""
    note: str | None = None  # e.g. "roll back to v1"

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def blocks(self) -> list[ContextBlock]:
        """The context as saved with this version (library documents and typed blocks)."""
        return [ContextBlock(c["name"], c["text"]) for c in self.context]

    def spec(self, variables: dict[str, str], context: list[ContextBlock] | tuple = ()) -> PromptSpec:
        """The PromptSpec to run this version with ``variables``; ``context`` defaults to the version's own."""
        return PromptSpec(
            template=self.template,
            variables=dict(variables or {}),
            context=list(context) or self.blocks(),
            system=self.system,
            temperature=self.params.get("temperature"),
            max_tokens=self.params.get("max_tokens"),
            stream=bool(self.params.get("stream", True)),
        )

    def matches(self, spec: PromptSpec) -> bool:
        """True when ``spec`` runs this version as saved: same system, template, parameters and context
        (variable values and models may differ: they are the inputs of a run)."""
        return (
            (spec.system if (spec.system or "").strip() else None) == self.system
            and spec.template == self.template
            and _params(spec) == self.params
            and [(b.name, b.text) for b in spec.context] == [(c["name"], c["text"]) for c in self.context]
        )


def _params(spec: PromptSpec) -> dict:
    return {
        "temperature": None if spec.temperature is None else float(spec.temperature),
        "max_tokens": None if spec.max_tokens is None else int(spec.max_tokens),
        "stream": bool(spec.stream),
    }


def _version(row: dict) -> PromptVersion:
    context = list(row.get("context") or [])
    return PromptVersion(
        id=row["id"],
        prompt_id=row["prompt_id"],
        name=row["name"],
        version=int(row["version"]),
        system=row["system_prompt"],
        template=row["template"],
        params=dict(row.get("params") or {}),
        models=list(row.get("models") or []),
        context_ids=[c["doc_id"] for c in context if c.get("doc_id")],
        author=row.get("author") or "",
        created_at=row["created_at"],
        context=context,
        content_hash=row["content_hash"],
        note=row.get("note"),
    )


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValueError("A prompt needs a name of 1-200 characters.")
    return name


def _content(system: str | None, template: str, params: dict, models: list[str], context: list[dict]) -> dict:
    """The stored content of a version and its hash (what "unchanged" compares)."""
    body = {
        "system_prompt": system if (system or "").strip() else None,
        "template": template,
        "params": params,
        "models": models,
        "context": context,
    }
    canon = json.dumps({**body, "context": [[c.get("doc_id"), c["name"], c["hash"]] for c in context]}, sort_keys=True)
    return {**body, "content_hash": hashlib.sha256(canon.encode("utf-8")).hexdigest()}


def save(
    access: Access, name: str, spec: PromptSpec, models: list[str], context_ids: list[str] | tuple = ()
) -> tuple[PromptVersion, bool]:
    """Save ``spec`` (system, template, parameters; its ``context`` blocks as typed blocks) with ``models`` and the
    library documents ``context_ids`` as the next version of ``name``. Returns (version, created_new): saving the
    same content as the latest version makes no new version and returns that one. Needs ``edit``."""
    access.need("edit")
    name = _name(name)
    if not (spec.template or "").strip():
        raise ValueError("The prompt is empty - write a prompt before saving it.")
    docs = contexts.get_many(access, list(dict.fromkeys(context_ids)))
    pinned = [{"doc_id": d.id, "name": d.name, "text": d.text, "hash": d.content_hash} for d in docs]
    pinned += [
        {"doc_id": None, "name": b.name, "text": b.text, "hash": contexts.text_hash(b.text)} for b in spec.context
    ]
    chosen = [m.strip() for m in models if m and m.strip()]
    content = _content(spec.system, spec.template, _params(spec), chosen, pinned)
    row, created = prompt_store.add_version(access, name, content)
    return _version(row), created


def rollback(access: Access, name: str, version: int) -> tuple[PromptVersion, bool]:
    """Make a new version equal to version ``version`` (its context as it was then). Returns (version, created):
    rolling back to content equal to the latest makes nothing new. Needs ``edit``."""
    old = get_version(access, name, version)
    content = _content(old.system, old.template, old.params, old.models, old.context)
    row, created = prompt_store.add_version(access, old.name, content, note=f"roll back to v{old.version}")
    return _version(row), created


def get_version(access: Access, name: str, version: int | None = None) -> PromptVersion:
    """Version ``version`` of prompt ``name`` (the latest when None); LookupError naming what is missing."""
    rows = prompt_store.version_rows(access, (name or "").strip())
    if not rows:
        names = [p["name"] for p in prompt_store.prompt_overview(access)]
        raise LookupError(
            f"No prompt called '{name}' in workspace '{access.workspace.name}'"
            + (f" (there are: {', '.join(names[:10])})" if names else " (it has none yet)")
        )
    if version is None:
        return _version(rows[-1])
    for row in rows:
        if int(row["version"]) == int(version):
            return _version(row)
    raise LookupError(f"Prompt '{name}' has no version {version} (it has v1-v{rows[-1]['version']})")


def get_by_id(access: Access, version_id: str) -> PromptVersion:
    """A version by its id (as stored on a run); LookupError when it is not in this workspace."""
    row = prompt_store.version_by_id(access, version_id)
    if row is None:
        raise LookupError(f"No prompt version {version_id!r} in workspace '{access.workspace.name}'")
    return _version(row)


def list_prompts(access: Access) -> list[dict]:
    """Every prompt: ``name``, latest ``version`` (also as ``latest_version``), its ``author`` and ``updated_at``
    (newest first)."""
    return [
        {
            "name": r["name"],
            "version": r["version"],
            "latest_version": r["version"],
            "author": r["author"],
            "updated_at": r["updated_at"],
        }
        for r in prompt_store.prompt_overview(access)
    ]


def versions(access: Access, name: str) -> list[PromptVersion]:
    """Every version of ``name``, oldest first; LookupError when there is no such prompt."""
    rows = prompt_store.version_rows(access, (name or "").strip())
    if not rows:
        raise LookupError(f"No prompt called '{name}' in workspace '{access.workspace.name}'")
    return [_version(r) for r in rows]


def context_blocks(access: Access, pv: PromptVersion) -> list[ContextBlock]:
    """The version's context as blocks, with the text it was saved with (library documents and typed blocks)."""
    access.need("read")
    return pv.blocks()


def changed_documents(access: Access, pv: PromptVersion) -> list[str]:
    """Names of the version's library documents edited or deleted since it was saved."""
    current = doc_store.doc_hashes(access, pv.context_ids)
    return [c["name"] for c in pv.context if c.get("doc_id") and current.get(c["doc_id"]) != c["hash"]]


def version_labels(access: Access, version_ids: list[str]) -> dict[str, str]:
    """``{version id: "name vN"}``, e.g. for the runs list."""
    return prompt_store.version_labels(access, version_ids)


# ---------------------------------------------------------------- diff


@dataclass(frozen=True)
class PromptDiff:
    """What changed from version ``old`` to ``new``: unified text diffs and (field, before, after) changes."""

    old: int
    new: int
    system: list[str]  # unified diff lines; empty when equal
    template: list[str]
    params: list[tuple[str, object, object]]
    models_added: list[str]
    models_removed: list[str]
    context: list[tuple[str, str]]  # (document name, "added" | "removed" | "changed")

    @property
    def unchanged(self) -> bool:
        return not (
            self.system or self.template or self.params or self.models_added or self.models_removed or self.context
        )


def _text_diff(a: str | None, b: str | None, label: str, old: int, new: int) -> list[str]:
    return list(
        difflib.unified_diff(
            (a or "").splitlines(),
            (b or "").splitlines(),
            fromfile=f"{label} v{old}",
            tofile=f"{label} v{new}",
            lineterm="",
        )
    )


def diff(old: PromptVersion, new: PromptVersion) -> PromptDiff:
    """The differences between two versions (of one prompt, or of two)."""
    keys = list(dict.fromkeys([*old.params, *new.params]))
    params = [(k, old.params.get(k), new.params.get(k)) for k in keys if old.params.get(k) != new.params.get(k)]
    before = {c["name"]: c["hash"] for c in old.context}
    after = {c["name"]: c["hash"] for c in new.context}
    context = [(n, "removed") for n in before if n not in after]
    context += [(n, "added") if n not in before else (n, "changed") for n in after if before.get(n) != after[n]]
    return PromptDiff(
        old=old.version,
        new=new.version,
        system=_text_diff(old.system, new.system, "system", old.version, new.version),
        template=_text_diff(old.template, new.template, "template", old.version, new.version),
        params=params,
        models_added=[m for m in new.models if m not in old.models],
        models_removed=[m for m in old.models if m not in new.models],
        context=context,
    )
