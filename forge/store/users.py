"""Users and login attempts: storage only (the rules live in forge.auth)."""

from __future__ import annotations

from datetime import datetime

from forge.store import new_id, utcnow
from forge.store.access import AuthError, PermissionDenied, User
from forge.store.db import Database

_USER_COLS = "id, username, name, email, role, disabled"


def _user(row) -> User | None:
    return User(*row) if row else None


def has_users(db: Database) -> bool:
    return bool(db.scalar("SELECT count(*) FROM users"))


def get_user(db: Database, username: str) -> User | None:
    """The user stored under ``username`` (already normalised), or None."""
    return _user(db.fetchone(f"SELECT {_USER_COLS} FROM users WHERE username = ?", [username]))


def get_user_by_id(db: Database, user_id: str) -> User | None:
    """The user stored under ``user_id`` as it is now, or None."""
    return _user(db.fetchone(f"SELECT {_USER_COLS} FROM users WHERE id = ?", [user_id]))


def user_with_hash(db: Database, username: str) -> tuple[User, str, int] | None:
    """The user, its bcrypt hash and session generation, for a password check."""
    row = db.fetchone(
        f"SELECT {_USER_COLS}, password_hash, session_generation FROM users WHERE username = ?", [username]
    )
    return (User(*row[:-2]), row[-2], row[-1]) if row else None


def session_user(db: Database, username: str) -> tuple[User, int] | None:
    """The user and its session generation as stored now (one query: this runs on every page run)."""
    row = db.fetchone(f"SELECT {_USER_COLS}, session_generation FROM users WHERE username = ?", [username])
    return (User(*row[:-1]), row[-1]) if row else None


def end_sessions(db: Database, user: User) -> None:
    """Invalidate every login cookie and open session of ``user``."""
    db.execute("UPDATE users SET session_generation = session_generation + 1 WHERE id = ?", [user.id])


def insert_user(cur, username: str, password_hash: str, role: str, name: str | None, email: str | None) -> User:
    """Insert a user inside a transaction ``cur``."""
    user = User(new_id(), username, name or username, email, role)
    cur.execute(
        "INSERT INTO users (id, username, name, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [user.id, username, user.name, email, password_hash, role, utcnow()],
    )
    return user


def create_first_user(db: Database, username: str, password_hash: str, role: str, name, email, then=None) -> User:
    """The first user, refused once any user exists; ``then(cur, user)`` runs in the same transaction."""

    def txn(cur):
        if cur.execute("SELECT count(*) FROM users").fetchone()[0]:
            raise PermissionDenied("An admin account already exists; log in instead.")
        user = insert_user(cur, username, password_hash, role, name, email)
        if then:
            then(cur, user)
        return user

    return db.write(txn)


def create_user(db: Database, username: str, password_hash: str, role: str, name, email) -> User:
    """A new user; AuthError when the name is taken."""

    def txn(cur):
        if cur.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
            raise AuthError(f"User '{username}' already exists.")
        if cur.execute("SELECT 1 FROM ratings WHERE rater = ? LIMIT 1", [username]).fetchone():
            # A removed user's ratings are kept under their name: a newcomer must not inherit them.
            raise AuthError(f"'{username}' was the name of a removed user whose ratings are kept; choose another name.")
        return insert_user(cur, username, password_hash, role, name, email)

    return db.write(txn)


def list_users(db: Database) -> list[User]:
    return [User(*r) for r in db.fetchall(f"SELECT {_USER_COLS} FROM users ORDER BY username")]


def set_password_hash(db: Database, user: User, password_hash: str) -> None:
    """New password, ending every session; a successful 'reset' attempt is recorded so any failure streak is broken."""

    def txn(cur):
        cur.execute(
            "UPDATE users SET password_hash = ?, session_generation = session_generation + 1 WHERE id = ?",
            [password_hash, user.id],
        )
        cur.execute(
            "INSERT INTO login_attempts (username, attempted_at, success, channel) VALUES (?, ?, TRUE, 'reset')",
            [user.username, utcnow()],
        )

    db.write(txn)


def set_role(db: Database, user: User, role: str) -> None:
    """A new role; a change ends every session of the user."""
    db.execute(
        "UPDATE users SET session_generation = session_generation + (role <> ?)::INT, role = ? WHERE id = ?",
        [role, role, user.id],
    )


def set_email(db: Database, user: User, email: str | None) -> None:
    db.execute("UPDATE users SET email = ? WHERE id = ?", [email, user.id])


def set_disabled(db: Database, user: User, disabled: bool) -> None:
    """Disable or enable; disabling ends every session of the user."""
    db.execute(
        "UPDATE users SET session_generation = session_generation + (? AND NOT disabled)::INT, disabled = ?"
        " WHERE id = ?",
        [disabled, disabled, user.id],
    )


def admin_count(db: Database) -> int:
    return db.scalar("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled")


def credentials(db: Database) -> list[tuple[str, str, str | None, str, str]]:
    """(username, name, email, password hash, role) of every enabled user."""
    return db.fetchall("SELECT username, name, email, password_hash, role FROM users WHERE NOT disabled")


# ---------------------------------------------------------------- login attempts


def recent_attempts(db: Database, username: str, since: datetime, limit: int) -> list[tuple[datetime, bool]]:
    """(attempted_at, success) of the newest ``limit`` attempts since ``since``, newest first."""
    return db.fetchall(
        "SELECT attempted_at, success FROM login_attempts WHERE username = ? AND attempted_at >= ?"
        " ORDER BY attempted_at DESC LIMIT ?",
        [username, since, limit],
    )


def record_login_attempt(
    db: Database, username: str, success: bool, channel: str = "web", client: str | None = None
) -> None:
    """One password check's outcome; a failure from a known client also counts against that client."""

    def txn(cur):
        now = utcnow()
        cur.execute(
            "INSERT INTO login_attempts (username, attempted_at, success, channel) VALUES (?, ?, ?, ?)",
            [username[:128], now, success, channel],
        )
        if client and not success:
            cur.execute("INSERT INTO login_client_failures VALUES (?, ?)", [client[:128], now])

    db.write(txn)


def client_failures(db: Database, client: str, since: datetime, limit: int) -> list[datetime]:
    """When ``client``'s newest ``limit`` failed logins since ``since`` happened, newest first."""
    return [
        r[0]
        for r in db.fetchall(
            "SELECT attempted_at FROM login_client_failures WHERE client = ? AND attempted_at >= ?"
            " ORDER BY attempted_at DESC LIMIT ?",
            [client[:128], since, limit],
        )
    ]


def failed_logins(db: Database, limit: int = 200) -> list[dict]:
    return db.fetchdicts(
        "SELECT username, attempted_at, channel FROM login_attempts WHERE NOT success"
        " ORDER BY attempted_at DESC LIMIT ?",
        [limit],
    )


def names_with_failures(db: Database) -> list[str]:
    return [r[0] for r in db.fetchall("SELECT DISTINCT username FROM login_attempts WHERE NOT success")]


# ---------------------------------------------------------------- removal


def delete_user(db: Database, user: User) -> None:
    """Remove a user, their memberships and API tokens in one transaction.

    Their ratings stay, attributed by user name (``ratings.rater``); see ``removed_raters``.
    """

    def txn(cur):
        cur.execute("DELETE FROM memberships WHERE user_id = ?", [user.id])
        cur.execute("DELETE FROM api_tokens WHERE user_id = ?", [user.id])
        cur.execute("DELETE FROM users WHERE id = ?", [user.id])

    db.write(txn)


def removed_raters(db: Database, raters: list[str]) -> set[str]:
    """Those of ``raters`` that were people and are no longer users (imported labels are not people)."""
    people = [r for r in set(raters) if r and not r.startswith(("file:", "langfuse:"))]
    if not people:
        return set()
    present = {r[0] for r in db.fetchall("SELECT username FROM users WHERE list_contains(?, username)", [people])}
    return set(people) - present
