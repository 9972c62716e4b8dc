"""The proof of a permission check: store functions for a workspace take an ``Access``, never an id.

An ``Access`` is made only by :func:`forge.auth.access` (through :mod:`forge.store.grant`,
which an import-linter contract lets nothing else import). It carries the connection,
the user as stored at the check, the workspace, the role and the actions that role allows;
store functions call :meth:`Access.need` for their action, which queries nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from forge.store.db import Database

# Only forge.store.grant hands this to the constructor.
_SEAL = object()


class AuthError(Exception):
    """Login failed, or the input to an auth function is not acceptable."""


class PermissionDenied(AuthError):
    """The acting user may not do this (wrong role, or not a member)."""


@dataclass(frozen=True)
class User:
    id: str
    username: str
    name: str
    email: str | None
    role: str
    disabled: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    description: str | None = None


@dataclass(frozen=True)
class LoginAttempt:
    attempted_at: datetime
    success: bool


@dataclass(frozen=True)
class Access:
    """``user`` may do ``actions`` in ``workspace`` (role ``role``), as checked against the database."""

    db: Database = field(repr=False)
    user: User
    workspace: Workspace
    role: str
    actions: frozenset[str]
    _seal: object = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self._seal is not _SEAL:
            raise TypeError("An Access is made only by forge.auth.access(db, user, workspace_id, action).")

    @property
    def workspace_id(self) -> str:
        return self.workspace.id

    def may(self, action: str) -> bool:
        return action in self.actions

    def need(self, action: str) -> Access:
        """This access when it allows ``action``; PermissionDenied otherwise (no query)."""
        if action not in self.actions:
            raise PermissionDenied(f"Your role ({self.role}) cannot {action} in a workspace.")
        return self
