"""API tokens: made per user, shown once, stored only as a SHA-256 hash, revocable.

A token is ``forge_`` plus 43 random URL-safe characters (256 bits), so a plain
SHA-256 is enough to store it: nothing to brute-force the way a password could be.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from forge.store import Database, utcnow
from forge.store import tokens as token_store
from forge.store.access import AuthError, User

PREFIX = "forge_"
_TOKEN_SHAPE = re.compile(r"^forge_[A-Za-z0-9_-]{20,100}$")
MAX_NAME = 64
MAX_EXPIRY_DAYS = 3650


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(db: Database, actor: User, name: str, expires_in_days: int | None = None) -> tuple[str, dict]:
    """A new token for ``actor`` called ``name``: (the token, shown once; its row without the token).

    ``expires_in_days``: the token is refused that many days from now; None means it never expires.
    """
    if actor is None or actor.disabled:
        raise AuthError("Log in first.")
    name = (name or "").strip()
    if not name:
        raise AuthError("Give the token a name, e.g. 'CI' or 'my laptop'.")
    if len(name) > MAX_NAME:
        raise AuthError(f"A token name has at most {MAX_NAME} characters.")
    if token_store.active_name_taken(db, actor.id, name):
        raise AuthError(f"You already have a token called '{name}': revoke it first or pick another name.")
    expires_at = None
    if expires_in_days is not None:
        if isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int):
            raise AuthError("A token's expiry is a whole number of days.")
        if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
            raise AuthError(f"A token expires in 1 to {MAX_EXPIRY_DAYS} days (or never).")
        expires_at = utcnow() + timedelta(days=expires_in_days)
    token = PREFIX + secrets.token_urlsafe(32)
    return token, token_store.insert_token(db, actor.id, name, hash_token(token), expires_at)


def list_tokens(db: Database, actor: User, include_revoked: bool = False) -> list[dict]:
    """``actor``'s tokens: id, name, created_at, last_used_at, expires_at, expired, revoked (never the token)."""
    now = utcnow()
    rows = token_store.tokens_of(db, actor.id, include_revoked)
    return [{**t, "expired": t["expires_at"] is not None and t["expires_at"] <= now} for t in rows]


def revoke_token(db: Database, actor: User, token_id: str) -> None:
    """Revoke one of ``actor``'s own tokens; it stops working at once."""
    if not token_store.revoke(db, actor.id, token_id):
        raise AuthError("No such token of yours (or it is already revoked).")


def refusal(db: Database, token: str | None) -> str:
    """Why ``token`` is refused, in words that never repeat the token (for a 401's message)."""
    if not token or not _TOKEN_SHAPE.match(token):
        return "not a Forge token (they start with 'forge_')"
    state = token_store.state_of_hash(db, hash_token(token))
    if state is None:
        return "unknown token"
    if state["revoked"]:
        return "this token was revoked"
    if state["expires_at"] is not None and state["expires_at"] <= utcnow():
        return f"this token expired on {state['expires_at']:%Y-%m-%d %H:%M} UTC: create a new one on the Settings page"
    return "the token's user is disabled"


def user_for_token(db: Database, token: str | None) -> User | None:
    """The enabled user a live token belongs to, else None (unknown, revoked, expired, malformed, disabled)."""
    if not token or not _TOKEN_SHAPE.match(token):
        return None
    found = token_store.user_for_hash(db, hash_token(token))
    if found is None or found[1].disabled:
        return None
    return found[1]
