"""Issue an ``Access``: only ``forge.auth`` imports this (an import-linter contract says so)."""

from __future__ import annotations

from forge.store.access import _SEAL, Access, User, Workspace
from forge.store.db import Database


def grant(db: Database, user: User, workspace: Workspace, role: str, actions: frozenset[str]) -> Access:
    """The proof that ``forge.auth`` checked ``user`` for ``workspace``."""
    return Access(db, user, workspace, role, frozenset(actions), _seal=_SEAL)
