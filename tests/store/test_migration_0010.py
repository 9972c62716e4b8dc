"""Migration 0010: API tokens made before it never expire, and keep working."""

from __future__ import annotations

from datetime import datetime

import duckdb

from forge import tokens
from forge.store import Database, migrations


def test_tokens_made_before_expiry_existed_never_expire(tmp_path):
    path = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(path))
    migrations.apply(conn, [m for m in migrations.available() if m[0] < "0010"])
    conn.execute(
        "INSERT INTO users (id, username, name, role, password_hash, disabled, created_at)"
        " VALUES ('u1', 'ana', 'Ana', 'analyst', 'x', FALSE, ?)",
        [datetime(2026, 1, 1)],
    )
    token = tokens.PREFIX + "a" * 43
    conn.execute(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, revoked)"
        " VALUES ('t1', 'u1', 'CI', ?, ?, FALSE)",
        [tokens.hash_token(token), datetime(2026, 1, 1)],
    )
    conn.close()
    db = Database(path)  # applies 0010
    try:
        assert db.fetchall("SELECT name, expires_at FROM api_tokens") == [("CI", None)]
        assert tokens.user_for_token(db, token).username == "ana"
    finally:
        db.close()
