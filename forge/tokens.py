"""API tokens: made per user, shown once, stored only as a SHA-256 hash, revocable.

A token is ``forge_`` plus 43 random URL-safe characters (256 bits), so a plain
SHA-256 is enough to store it: nothing to brute-force the way a password could be.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from forge.store import Database
from forge.store import tokens as token_store
from forge.store.access import AuthError, User

PREFIX = "forge_"
_TOKEN_SHAPE = re.compile(r"^forge_[A-Za-z0-9_-]{20,100}$")
MAX_NAME = 64


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(db: Database, actor: User, name: str) -> tuple[str, dict]:
    """A new token for ``actor`` called ``name``: (the token, shown once; its row without the token)."""
    if actor is None or actor.disabled:
        raise AuthError("Log in first.")
    name = (name or "").strip()
    if not name:
        raise AuthError("Give the token a name, e.g. 'CI' or 'my laptop'.")
    if len(name) > MAX_NAME:
        raise AuthError(f"A token name has at most {MAX_NAME} characters.")
    if token_store.active_name_taken(db, actor.id, name):
        raise AuthError(f"You already have a token called '{name}': revoke it first or pick another name.")
    token = PREFIX + secrets.token_urlsafe(32)
    return token, token_store.insert_token(db, actor.id, name, hash_token(token))


def list_tokens(db: Database, actor: User, include_revoked: bool = False) -> list[dict]:
    """``actor``'s tokens: id, name, created_at, last_used_at, revoked (never the token)."""
    return token_store.tokens_of(db, actor.id, include_revoked)


def revoke_token(db: Database, actor: User, token_id: str) -> None:
    """Revoke one of ``actor``'s own tokens; it stops working at once."""
    if not token_store.revoke(db, actor.id, token_id):
        raise AuthError("No such token of yours (or it is already revoked).")


def user_for_token(db: Database, token: str | None) -> User | None:
    """The enabled user a live token belongs to, else None (unknown, revoked, malformed, disabled)."""
    if not token or not _TOKEN_SHAPE.match(token):
        return None
    found = token_store.user_for_hash(db, hash_token(token))
    if found is None or found[1].disabled:
        return None
    return found[1]
