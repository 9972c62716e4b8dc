"""Numbered schema migrations: ``NNNN_name.sql`` files applied in order.

Each file runs with its bookkeeping row in one transaction, so a migration
that fails stays pending and the database is left as it was.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib import resources

import duckdb

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def available() -> list[tuple[str, str]]:
    """(name, sql) for every migration shipped, in order."""
    files = [f for f in resources.files(__package__).iterdir() if _NAME.match(f.name)]
    numbers = [f.name[:4] for f in files]
    dupes = {n for n in numbers if numbers.count(n) > 1}
    if dupes:
        raise RuntimeError(f"two migrations share the number(s) {sorted(dupes)}")
    return [(f.name[:-4], f.read_text(encoding="utf-8")) for f in sorted(files, key=lambda f: f.name)]


def applied(conn: duckdb.DuckDBPyConnection) -> list[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ( name VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
    )
    return [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()]


def apply(conn: duckdb.DuckDBPyConnection, shipped: list[tuple[str, str]] | None = None) -> list[str]:
    """Apply pending migrations (default: those shipped); returns the names applied now."""
    done = set(applied(conn))
    newly = []
    for name, sql in available() if shipped is None else shipped:
        if name in done:
            continue
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(sql)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?)",
                [name, datetime.now(UTC).replace(tzinfo=None)],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        newly.append(name)
    return newly
