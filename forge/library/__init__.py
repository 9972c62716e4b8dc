"""The prompt and context library: saved, versioned prompts and reusable context documents (issue 14)."""

from __future__ import annotations

from forge.library.prompts import (
    PromptDiff,
    PromptVersion,
    context_blocks,
    diff,
    get_version,
    list_prompts,
    rollback,
    save,
    versions,
)

__all__ = [
    "PromptDiff",
    "PromptVersion",
    "context_blocks",
    "diff",
    "get_version",
    "list_prompts",
    "rollback",
    "save",
    "versions",
]
