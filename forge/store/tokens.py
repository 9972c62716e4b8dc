"""API tokens: storage only (generation, hashing and the rules live in forge.tokens).

Only a token's SHA-256 hash is stored; the token itself is shown once and never kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from forge.store import new_id, utcnow
from forge.store.access import User
from forge.store.db import Database

_TOKEN_COLS = "id, user_id, name, created_at, last_used_at, expires_at, revoked"
# A token's last use is written at most this often: a busy script should not write on every call.
TOUCH_EVERY = timedelta(seconds=60)


def insert_token(db: Database, user_id: str, name: str, token_hash: str, expires_at: datetime | None = None) -> dict:
    """Store a new token's hash for ``user_id`` (``expires_at`` None: never); returns the row without the hash."""
    row = {
        "id": new_id(),
        "user_id": user_id,
        "name": name,
        "created_at": utcnow(),
        "last_used_at": None,
        "expires_at": expires_at,
        "revoked": False,
    }
    db.execute(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at, revoked)"
        " VALUES (?, ?, ?, ?, ?, ?, FALSE)",
        [row["id"], user_id, name, token_hash, row["created_at"], expires_at],
    )
    return row


def tokens_of(db: Database, user_id: str, include_revoked: bool = False) -> list[dict]:
    """The user's tokens (never their hashes), newest first; expired ones count as live until revoked
    (the settings page shows them as expired), revoked ones only with ``include_revoked``."""
    where = "" if include_revoked else " AND NOT coalesce(revoked, FALSE)"
    return db.fetchdicts(
        f"SELECT {_TOKEN_COLS} FROM api_tokens WHERE user_id = ?{where} ORDER BY created_at DESC, id",
        [user_id],
    )


def active_name_taken(db: Database, user_id: str, name: str) -> bool:
    """True when the user already has a live (not revoked, not expired) token called ``name``."""
    return bool(
        db.scalar(
            "SELECT count(*) FROM api_tokens WHERE user_id = ? AND name = ? AND NOT coalesce(revoked, FALSE)"
            " AND (expires_at IS NULL OR expires_at > ?)",
            [user_id, name, utcnow()],
        )
    )


def state_of_hash(db: Database, token_hash: str) -> dict | None:
    """{"revoked", "expires_at"} of the token with this hash, whatever its state; None when unknown."""
    found = db.fetchdicts("SELECT revoked, expires_at FROM api_tokens WHERE token_hash = ?", [token_hash])
    return found[0] if found else None


def revoke(db: Database, user_id: str, token_id: str) -> bool:
    """Revoke one of the user's tokens; False when it is not theirs or already revoked."""
    found = db.scalar(
        "SELECT count(*) FROM api_tokens WHERE id = ? AND user_id = ? AND NOT coalesce(revoked, FALSE)",
        [token_id, user_id],
    )
    if not found:
        return False
    db.execute("UPDATE api_tokens SET revoked = TRUE WHERE id = ? AND user_id = ?", [token_id, user_id])
    return True


def user_for_hash(db: Database, token_hash: str) -> tuple[str, User] | None:
    """(token id, its user) for a live token's hash; None when unknown, revoked or expired.

    The caller checks the user's disabled flag: a disabled user's tokens stop working
    without being revoked, and work again when the user is enabled.
    """
    now = utcnow()
    row = db.fetchone(
        "SELECT t.id, t.last_used_at, u.id, u.username, u.name, u.email, u.role, u.disabled"
        " FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.token_hash = ? AND NOT coalesce(t.revoked, FALSE) AND (t.expires_at IS NULL OR t.expires_at > ?)",
        [token_hash, now],
    )
    if row is None:
        return None
    token_id, last_used = row[0], row[1]
    if last_used is None or now - last_used >= TOUCH_EVERY:
        db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [now, token_id])
    return token_id, User(*row[2:])
