"""Persistence in DuckDB: connection, migrations, one module per aggregate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from forge.store.db import Database, DatabaseBusy, connect

__all__ = ["Database", "DatabaseBusy", "connect", "new_id", "utcnow"]


def new_id() -> str:
    """A random id, short enough to show and type."""
    return uuid.uuid4().hex[:20]


def utcnow() -> datetime:
    """Now in UTC, without zone (how every timestamp is stored)."""
    return datetime.now(UTC).replace(tzinfo=None)
