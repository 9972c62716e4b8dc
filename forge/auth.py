"""Users, roles, workspace membership and password checks (no Streamlit here).

Every function that reads or changes workspace data takes the acting ``User``
and checks it with :func:`require`, so isolation holds for pages, the CLI and
any script alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import bcrypt

from forge.config import MIN_PASSWORD_LENGTH, settings
from forge.store import Database, new_id, utcnow

ROLES = ("admin", "analyst", "viewer")
DEFAULT_WORKSPACE = "default"
# What each role may do in a workspace it belongs to.
_ROLE_ACTIONS = {
    "admin": {"read", "rate", "import", "run", "edit"},
    "analyst": {"read", "rate", "import", "run", "edit"},
    "viewer": {"read"},
}
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
_WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


class AuthError(Exception):
    """Login failed, or the input to an auth function is not acceptable."""


class PermissionDenied(AuthError):
    """The acting user may not do this (wrong role, or not a member)."""


class LockedOut(AuthError):
    """Too many failed logins for this user name; try again after ``until``."""

    def __init__(self, username: str, until: datetime):
        self.username = username
        self.until = until
        minutes = max(1, int((until - utcnow()).total_seconds() // 60) + 1)
        super().__init__(
            f"Too many failed logins for '{username}'. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''} (at {until:%H:%M} UTC) or ask an admin to reset the password."
        )


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

    def may(self, action: str) -> bool:
        return not self.disabled and action in _ROLE_ACTIONS.get(self.role, set())


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    description: str | None = None


_USER_COLS = "id, username, name, email, role, disabled"


def _user(row) -> User | None:
    return User(*row) if row else None


# ---------------------------------------------------------------- passwords


def _rounds() -> int:
    # 12 is bcrypt's default; tests lower it (FORGE_BCRYPT_ROUNDS=4) to stay fast.
    from forge.config import get

    return max(4, min(16, int(get("FORGE_BCRYPT_ROUNDS") or 12)))


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(_rounds())).decode("ascii")


def check_password_policy(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AuthError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    if password != password.strip():
        # The login form trims what is typed, so such a password could never be entered.
        raise AuthError("Password must not start or end with a space.")
    if len(password.encode("utf-8")) > 72:
        raise AuthError("Password must be at most 72 bytes long (a bcrypt limit).")


def _check_username(username: str) -> str:
    # streamlit-authenticator lower-cases what is typed, so names are stored lower-case.
    username = (username or "").strip().lower()
    if not _USERNAME.match(username):
        raise AuthError("User name must be 2-64 characters: letters, digits, and . _ @ - only.")
    return username


# ---------------------------------------------------------------- users


def has_users(db: Database) -> bool:
    return bool(db.scalar("SELECT count(*) FROM users"))


def get_user(db: Database, username: str) -> User | None:
    username = (username or "").strip().lower()
    return _user(db.fetchone(f"SELECT {_USER_COLS} FROM users WHERE username = ?", [username]))


def _insert_user(cur, username, password, role, name, email) -> User:
    user = User(new_id(), username, name or username, email, role)
    cur.execute(
        "INSERT INTO users (id, username, name, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [user.id, username, user.name, email, hash_password(password), role, utcnow()],
    )
    return user


def create_first_admin(
    db: Database, username: str, password: str, name: str | None = None, email: str | None = None
) -> User:
    """The one-time admin account; refused once any user exists.

    Also creates the ``default`` workspace with the admin as its member.
    """
    username = _check_username(username)
    check_password_policy(password)

    def txn(cur):
        if cur.execute("SELECT count(*) FROM users").fetchone()[0]:
            raise PermissionDenied("An admin account already exists; log in instead.")
        user = _insert_user(cur, username, password, "admin", name, email)
        ws = _workspace_by_name(cur, DEFAULT_WORKSPACE) or _insert_workspace(
            cur, DEFAULT_WORKSPACE, "Created with the first admin", user.id
        )
        _insert_membership(cur, ws.id, user.id)
        return user

    return db.write(txn)


def create_user(
    db: Database,
    actor: User,
    username: str,
    password: str,
    role: str,
    name: str | None = None,
    email: str | None = None,
) -> User:
    """A new user (admins only)."""
    _require_admin(actor)
    username = _check_username(username)
    if role not in ROLES:
        raise AuthError(f"Role must be one of {', '.join(ROLES)}; got '{role}'.")
    check_password_policy(password)

    def txn(cur):
        if cur.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
            raise AuthError(f"User '{username}' already exists.")
        return _insert_user(cur, username, password, role, name, email)

    return db.write(txn)


def list_users(db: Database, actor: User) -> list[User]:
    _require_admin(actor)
    return [User(*r) for r in db.fetchall(f"SELECT {_USER_COLS} FROM users ORDER BY username")]


def set_password(db: Database, actor: User, username: str, new_password: str) -> None:
    """Reset a password (admins for anyone, users for themselves); clears a lockout."""
    if not (actor.is_admin or actor.username == username):
        raise PermissionDenied("Only an admin can reset another user's password.")
    check_password_policy(new_password)
    target = get_user(db, username)
    if target is None:
        raise AuthError(f"No user '{username}'.")

    def txn(cur):
        cur.execute("UPDATE users SET password_hash = ? WHERE id = ?", [hash_password(new_password), target.id])
        # A reset ends any lockout: record a success so the failure streak is broken.
        cur.execute("INSERT INTO login_attempts VALUES (?, ?, TRUE, 'reset')", [target.username, utcnow()])

    db.write(txn)


def set_role(db: Database, actor: User, username: str, role: str) -> None:
    _require_admin(actor)
    if role not in ROLES:
        raise AuthError(f"Role must be one of {', '.join(ROLES)}.")
    target = get_user(db, username)
    if target is None:
        raise AuthError(f"No user '{username}'.")
    if target.is_admin and role != "admin" and _admin_count(db) <= 1:
        raise AuthError("The last admin cannot be demoted.")
    db.execute("UPDATE users SET role = ? WHERE id = ?", [role, target.id])


def set_disabled(db: Database, actor: User, username: str, disabled: bool) -> None:
    _require_admin(actor)
    target = get_user(db, username)
    if target is None:
        raise AuthError(f"No user '{username}'.")
    if disabled and target.id == actor.id:
        raise AuthError("You cannot disable your own account.")
    db.execute("UPDATE users SET disabled = ? WHERE id = ?", [disabled, target.id])


def _admin_count(db: Database) -> int:
    return db.scalar("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled")


def _require_admin(actor: User | None) -> None:
    if actor is None or not actor.is_admin or actor.disabled:
        raise PermissionDenied("Only an admin can do this.")


# ---------------------------------------------------------------- login


def locked_until(db: Database, username: str) -> datetime | None:
    """When a lockout for ``username`` ends, or None when it may log in now."""
    cfg = settings()
    window_start = utcnow() - timedelta(minutes=cfg.lockout_minutes)
    rows = db.fetchall(
        "SELECT attempted_at, success FROM login_attempts WHERE username = ? AND attempted_at >= ?"
        " ORDER BY attempted_at DESC LIMIT ?",
        [username, window_start, cfg.max_failed_logins],
    )
    if len(rows) < cfg.max_failed_logins or any(success for _, success in rows):
        return None
    # The last N attempts in the window all failed: locked until the newest + lockout.
    return rows[0][0] + timedelta(minutes=cfg.lockout_minutes)


def record_login_attempt(db: Database, username: str, success: bool, channel: str = "web") -> None:
    db.execute("INSERT INTO login_attempts VALUES (?, ?, ?, ?)", [username[:128], utcnow(), success, channel])


def authenticate(db: Database, username: str, password: str, channel: str = "web") -> User:
    """The user for these credentials; raises LockedOut or AuthError, recording the attempt."""
    username = (username or "").strip().lower()
    until = locked_until(db, username)
    if until is not None:
        raise LockedOut(username, until)
    row = db.fetchone(f"SELECT {_USER_COLS}, password_hash FROM users WHERE username = ?", [username])
    ok = False
    if row is not None:
        ok = bcrypt.checkpw((password or "").encode("utf-8"), row[-1].encode("ascii"))
    else:
        # Same work for unknown names, so timing does not reveal which names exist.
        bcrypt.checkpw(b"x", _dummy_hash())
    if ok and row[5]:
        record_login_attempt(db, username, False, channel)
        raise AuthError("This account is disabled. Ask an admin.")
    record_login_attempt(db, username, ok, channel)
    if not ok:
        until = locked_until(db, username)
        if until is not None:
            raise LockedOut(username, until)
        raise AuthError("Wrong user name or password.")
    return User(*row[:-1])


_DUMMY_HASHES: dict[int, bytes] = {}


def _dummy_hash() -> bytes:
    rounds = _rounds()
    if rounds not in _DUMMY_HASHES:
        _DUMMY_HASHES[rounds] = bcrypt.hashpw(b"forge-dummy", bcrypt.gensalt(rounds))
    return _DUMMY_HASHES[rounds]


def failed_logins(db: Database, actor: User, limit: int = 200) -> list[dict]:
    """Recent failed attempts, newest first (admins only)."""
    _require_admin(actor)
    return db.fetchdicts(
        "SELECT username, attempted_at, channel FROM login_attempts WHERE NOT success"
        " ORDER BY attempted_at DESC LIMIT ?",
        [limit],
    )


def locked_users(db: Database, actor: User) -> list[dict]:
    _require_admin(actor)
    names = [r[0] for r in db.fetchall("SELECT DISTINCT username FROM login_attempts WHERE NOT success")]
    out = []
    for name in names:
        until = locked_until(db, name)
        if until is not None:
            out.append({"username": name, "locked_until": until})
    return out


def authenticator_credentials(db: Database) -> dict:
    """Credentials in streamlit-authenticator's shape, for enabled users.

    Locked-out users stay in: their password checks go through ``authenticate`` (which
    refuses them), while a session they already hold survives, so guessing someone's
    password cannot log them out.
    """
    users = {}
    for _uid, username, name, email, pw_hash, role in db.fetchall(
        "SELECT id, username, name, email, password_hash, role FROM users WHERE NOT disabled"
    ):
        users[username] = {
            "name": name,
            "email": email or "",
            "password": pw_hash,
            "roles": [role],
            "failed_login_attempts": 0,
            "logged_in": False,
        }
    return {"usernames": users}


# ---------------------------------------------------------------- workspaces


def _workspace_by_name(cur, name: str) -> Workspace | None:
    row = cur.execute("SELECT id, name, description FROM workspaces WHERE name = ?", [name]).fetchone()
    return Workspace(*row) if row else None


def _insert_workspace(cur, name: str, description: str | None, created_by: str | None) -> Workspace:
    ws = Workspace(new_id(), name, description)
    cur.execute(
        "INSERT INTO workspaces (id, name, description, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
        [ws.id, name, description, created_by, utcnow()],
    )
    return ws


def _insert_membership(cur, workspace_id: str, user_id: str) -> None:
    cur.execute(
        "INSERT INTO memberships (workspace_id, user_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [workspace_id, user_id, utcnow()],
    )


def create_workspace(db: Database, actor: User, name: str, description: str | None = None) -> Workspace:
    """A new workspace with the creating admin as its first member."""
    _require_admin(actor)
    name = (name or "").strip()
    if not _WORKSPACE_NAME.match(name):
        raise AuthError(
            "Workspace name must be 1-64 characters: letters, digits, space, . _ - (starting with a letter or digit)."
        )

    def txn(cur):
        if _workspace_by_name(cur, name):
            raise AuthError(f"Workspace '{name}' already exists.")
        ws = _insert_workspace(cur, name, description, actor.id)
        _insert_membership(cur, ws.id, actor.id)
        return ws

    return db.write(txn)


def workspaces_for(db: Database, actor: User) -> list[Workspace]:
    """The workspaces ``actor`` belongs to, by name."""
    return [
        Workspace(*r)
        for r in db.fetchall(
            "SELECT w.id, w.name, w.description FROM workspaces w"
            " JOIN memberships m ON m.workspace_id = w.id WHERE m.user_id = ? ORDER BY lower(w.name), w.name",
            [actor.id],
        )
    ]


def all_workspaces(db: Database, actor: User) -> list[dict]:
    """Every workspace with its members (admins only, for the admin page)."""
    _require_admin(actor)
    rows = db.fetchdicts(
        "SELECT w.id, w.name, w.description, w.created_at,"
        " list(u.username ORDER BY u.username) FILTER (WHERE u.username IS NOT NULL) AS members"
        " FROM workspaces w LEFT JOIN memberships m ON m.workspace_id = w.id"
        " LEFT JOIN users u ON u.id = m.user_id GROUP BY ALL ORDER BY w.name"
    )
    for r in rows:
        r["members"] = r["members"] or []
    return sorted(rows, key=lambda r: (r["name"].lower(), r["name"]))


def add_member(db: Database, actor: User, workspace_id: str, username: str) -> None:
    _require_admin(actor)
    user = get_user(db, username)
    if user is None:
        raise AuthError(f"No user '{username}'.")
    if not db.scalar("SELECT count(*) FROM workspaces WHERE id = ?", [workspace_id]):
        raise AuthError("No such workspace.")
    db.write(lambda cur: _insert_membership(cur, workspace_id, user.id))


def remove_member(db: Database, actor: User, workspace_id: str, username: str) -> None:
    _require_admin(actor)
    user = get_user(db, username)
    if user is None:
        raise AuthError(f"No user '{username}'.")
    db.execute("DELETE FROM memberships WHERE workspace_id = ? AND user_id = ?", [workspace_id, user.id])


def is_member(db: Database, actor: User, workspace_id: str) -> bool:
    return bool(
        db.scalar(
            "SELECT count(*) FROM memberships WHERE workspace_id = ? AND user_id = ?",
            [workspace_id, actor.id],
        )
    )


def require(db: Database, actor: User | None, workspace_id: str, action: str = "read") -> Workspace:
    """The workspace, if ``actor`` is a member whose role allows ``action``; else PermissionDenied.

    Actions: read, rate, import, run, edit. Admins too must be members to see data.
    Role and disabled flag are read from the database, not from ``actor`` (a job or a
    script may hold a User from before an admin demoted or disabled it).
    """
    if actor is None:
        raise PermissionDenied("Log in first.")
    if actor.disabled:
        raise PermissionDenied("This account is disabled.")
    # One query on every call (this runs before each read and write): the user as stored now,
    # and the workspace if they are a member of it.
    row = db.fetchone(
        "SELECT u.role, u.disabled, w.id, w.name, w.description FROM users u"
        " LEFT JOIN memberships m ON m.user_id = u.id AND m.workspace_id = ?"
        " LEFT JOIN workspaces w ON w.id = m.workspace_id WHERE u.id = ?",
        [workspace_id, actor.id],
    )
    if row is None or row[1]:
        raise PermissionDenied("This account is disabled or no longer exists.")
    role, _, ws_id, ws_name, ws_description = row
    if ws_id is None:
        raise PermissionDenied("You are not a member of this workspace.")
    if action not in _ROLE_ACTIONS.get(role, set()):
        raise PermissionDenied(f"Your role ({role}) cannot {action} in a workspace.")
    return Workspace(ws_id, ws_name, ws_description)


def resolve_workspace(db: Database, actor: User, name: str | None = None, action: str = "read") -> Workspace:
    """A workspace by name for ``actor``; ``default`` is created on first use."""
    name = name or DEFAULT_WORKSPACE
    row = db.fetchone("SELECT id FROM workspaces WHERE name = ?", [name])
    if row is None:
        if name != DEFAULT_WORKSPACE:
            raise PermissionDenied(f"No workspace '{name}' that you belong to.")

        def txn(cur):
            ws = _workspace_by_name(cur, name) or _insert_workspace(cur, name, None, actor.id)
            _insert_membership(cur, ws.id, actor.id)
            return ws

        db.write(txn)
        row = db.fetchone("SELECT id FROM workspaces WHERE name = ?", [name])
    try:
        return require(db, actor, row[0], action)
    except PermissionDenied as exc:
        if not is_member(db, actor, row[0]):
            raise PermissionDenied(f"No workspace '{name}' that you belong to.") from exc
        raise
