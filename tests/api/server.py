"""Real-server tests: a seeded team, and the server itself (tests.e2e.browser.serve, re-exported here)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import PASSWORD
from tests.e2e.browser import serve as running_server

__all__ = ["running_server", "team"]


@contextlib.contextmanager
def team(db_path: Path) -> Iterator[tuple]:
    """(db, admin, the 'default' workspace, ana: an analyst in it) in a database the server will serve."""
    from forge import auth
    from forge.store import Database

    db = Database(str(db_path))
    try:
        admin = auth.create_first_admin(db, "admin", PASSWORD)
        ws = auth.resolve_workspace(db, admin)
        ana = auth.create_user(db, admin, "ana", PASSWORD, "analyst")
        auth.add_member(db, admin, ws.id, "ana")
        yield db, admin, ws, ana
    finally:
        db.close()
