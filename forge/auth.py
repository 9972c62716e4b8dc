"""Users, roles, workspace membership and password checks (no Streamlit here).

The rules live here; the rows live in ``forge.store``. Every operation on workspace
data starts with one :func:`access` check, whose ``Access`` value the store functions
take instead of (db, user, workspace id), so isolation holds for pages, the CLI and
any script alike.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import bcrypt

from forge.config import MIN_PASSWORD_LENGTH, settings
from forge.store import Database, utcnow
from forge.store import users as user_store
from forge.store import workspaces as ws_store
from forge.store.access import Access, AuthError, PermissionDenied, User, Workspace
from forge.store.grant import grant

__all__ = [
    "Access",
    "AuthError",
    "ClientThrottled",
    "LockedOut",
    "LoginBusy",
    "PermissionDenied",
    "User",
    "Workspace",
    "access",
    "role_may",
    "require",
    "resolve_access",
]

ROLES = ("admin", "analyst", "viewer")
DEFAULT_WORKSPACE = "default"
# What each role may do in a workspace it belongs to.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "rate", "import", "run", "edit"}),
    "analyst": frozenset({"read", "rate", "import", "run", "edit"}),
    "viewer": frozenset({"read"}),
}
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")


def role_may(user: User, action: str) -> bool:
    """True when ``user``'s role (as last read) allows ``action``; for menus, not for access checks."""
    return not user.disabled and action in ROLE_ACTIONS.get(user.role, frozenset())


_WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class LockedOut(AuthError):
    """Too many failed logins for this user name; try again after ``until``."""

    def __init__(self, username: str, until: datetime):
        self.username = username
        self.until = until
        super().__init__(
            f"Too many failed logins for '{username}'. {_try_again(until)} or ask an admin to reset the password."
        )


def _try_again(until: datetime) -> str:
    minutes = max(1, int((until - utcnow()).total_seconds() // 60) + 1)
    return f"Try again in {minutes} minute{'s' if minutes != 1 else ''} (at {until:%H:%M} UTC)"


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
    return user_store.has_users(db)


def get_user(db: Database, username: str) -> User | None:
    return user_store.get_user(db, (username or "").strip().lower())


def create_first_admin(
    db: Database, username: str, password: str, name: str | None = None, email: str | None = None
) -> User:
    """The one-time admin account; refused once any user exists.

    Also creates the ``default`` workspace with the admin as its member.
    """
    username = _check_username(username)
    check_password_policy(password)

    def with_default_workspace(cur, user: User) -> None:
        ws_store.ensure_workspace_with_member(cur, DEFAULT_WORKSPACE, "Created with the first admin", user.id)

    return user_store.create_first_user(
        db, username, hash_password(password), "admin", name, email, then=with_default_workspace
    )


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
    _require_admin(db, actor)
    username = _check_username(username)
    if role not in ROLES:
        raise AuthError(f"Role must be one of {', '.join(ROLES)}; got '{role}'.")
    check_password_policy(password)
    return user_store.create_user(db, username, hash_password(password), role, name, _check_email(email))


def list_users(db: Database, actor: User) -> list[User]:
    _require_admin(db, actor)
    return user_store.list_users(db)


def _target(db: Database, username: str) -> User:
    target = get_user(db, username)
    if target is None:
        raise AuthError(f"No user '{username}'.")
    return target


def set_password(db: Database, actor: User, username: str, new_password: str) -> None:
    """Reset a password (admins for anyone, users for themselves); clears a lockout."""
    actor = _current(db, actor)
    if actor is None or not (actor.is_admin or actor.username == (username or "").strip().lower()):
        raise PermissionDenied("Only an admin can reset another user's password.")
    check_password_policy(new_password)
    user_store.set_password_hash(db, _target(db, username), hash_password(new_password))


def set_role(db: Database, actor: User, username: str, role: str) -> None:
    _require_admin(db, actor)
    if role not in ROLES:
        raise AuthError(f"Role must be one of {', '.join(ROLES)}.")
    target = _target(db, username)
    if target.is_admin and role != "admin" and user_store.admin_count(db) <= 1:
        raise AuthError("The last admin cannot be demoted.")
    user_store.set_role(db, target, role)


def set_disabled(db: Database, actor: User, username: str, disabled: bool) -> None:
    actor = _require_admin(db, actor)
    target = _target(db, username)
    if disabled and target.id == actor.id:
        raise AuthError("You cannot disable your own account.")
    user_store.set_disabled(db, target, disabled)


def _check_email(email: str | None) -> str | None:
    email = (email or "").strip()
    if not email:
        return None
    if len(email) > 254 or not _EMAIL.match(email):
        raise AuthError(f"'{email}' is not an e-mail address (name@example.com).")
    return email


def set_email(db: Database, actor: User, username: str, email: str | None) -> None:
    """Change a user's e-mail address (admins for anyone, users for themselves); empty clears it."""
    actor = _current(db, actor)
    if actor is None or not (actor.is_admin or actor.username == (username or "").strip().lower()):
        raise PermissionDenied("Only an admin can change another user's e-mail address.")
    user_store.set_email(db, _target(db, username), _check_email(email))


def delete_user(db: Database, actor: User, username: str) -> None:
    """Remove a user (admins only): not yourself, not the last admin. Their ratings stay under their name."""
    actor = _require_admin(db, actor)
    target = _target(db, username)
    if target.id == actor.id:
        raise AuthError("You cannot delete your own account.")
    if target.is_admin and not target.disabled and user_store.admin_count(db) <= 1:
        raise AuthError("The last admin cannot be deleted.")
    user_store.delete_user(db, target)


def removed_raters(db: Database, raters: list[str]) -> set[str]:
    """The rater names among ``raters`` whose user was removed (shown as "<name> (removed)")."""
    return user_store.removed_raters(db, raters)


def _require_admin(db: Database, actor: User | None) -> User:
    """``actor`` as stored now, if an enabled admin; else PermissionDenied.

    Read from the database, not from ``actor``: a page, job or script may hold a User from
    before an admin demoted or disabled it (as :func:`access` does for workspace data).
    """
    current = _current(db, actor)
    if current is None or not current.is_admin:
        raise PermissionDenied("Only an admin can do this.")
    return current


def _current(db: Database, actor: User | None) -> User | None:
    """``actor`` as stored now, or None when it is disabled or no longer exists."""
    current = user_store.get_user_by_id(db, actor.id) if actor is not None else None
    return None if current is None or current.disabled else current


# ---------------------------------------------------------------- login


class ClientThrottled(AuthError):
    """Too many failed logins from one client (across names); try again after ``until``."""

    def __init__(self, until: datetime):
        self.until = until
        super().__init__(f"Too many failed logins from your address. {_try_again(until)}.")


class LoginBusy(AuthError):
    """As many password checks as may still fail are already running for this name or client."""


def _client_max_failures() -> int:
    # Above the per-name limit, so one person mistyping their own password meets that first.
    from forge.config import get

    return max(1, int(get("FORGE_CLIENT_MAX_FAILED_LOGINS") or 10))


def _streak(rows: list[tuple[datetime, bool]]) -> list[datetime]:
    """The failures among ``rows`` (newest first) since the newest success."""
    out = []
    for at, success in rows:
        if success:
            break
        out.append(at)
    return out


def locked_until(db: Database, username: str) -> datetime | None:
    """When a lockout for ``username`` ends, or None when it may log in now."""
    cfg = settings()
    window_start = utcnow() - timedelta(minutes=cfg.lockout_minutes)
    rows = user_store.recent_attempts(db, username, window_start, cfg.max_failed_logins)
    failures = _streak(rows)
    if len(failures) < cfg.max_failed_logins:
        return None
    # The last N attempts in the window all failed: locked until the newest + lockout.
    return failures[0] + timedelta(minutes=cfg.lockout_minutes)


def record_login_attempt(
    db: Database, username: str, success: bool, channel: str = "web", client: str | None = None
) -> None:
    user_store.record_login_attempt(db, username, success, channel, client)


# Password checks running now, per user name and per client. A check is counted as a failure
# until its outcome is recorded, so the decision "may this attempt check a password?" and the
# reservation are one step under _SLOTS_LOCK: of any burst, at most the allowed number of
# checks ever run. A process-wide lock is enough: the DuckDB file is opened for writing by one
# process only (the server, or a CLI command when no server runs; forge.store.db), so every
# attempt against a database goes through this process's lock.
_SLOTS_LOCK = threading.Lock()
_checking_names: dict[str, int] = {}
_checking_clients: dict[str, int] = {}


def _reserve(db: Database, username: str, client: str | None) -> None:
    """Reserve a password check for ``username`` from ``client``; else ClientThrottled, LockedOut or LoginBusy.

    Refusals are not recorded: a throttled client's guesses count against no account.
    """
    cfg = settings()
    now = utcnow()
    lockout = timedelta(minutes=cfg.lockout_minutes)
    with _SLOTS_LOCK:
        if client:
            limit = _client_max_failures()
            failures = user_store.client_failures(db, client, now - lockout, limit)
            if len(failures) >= limit:
                raise ClientThrottled(failures[-1] + lockout)
            if len(failures) + _checking_clients.get(client, 0) >= limit:
                raise LoginBusy("Too many logins from your address are being checked at once. Try again in a moment.")
        limit = cfg.max_failed_logins
        failures = _streak(user_store.recent_attempts(db, username, now - lockout, limit))
        if len(failures) >= limit:
            raise LockedOut(username, failures[0] + lockout)
        if len(failures) + _checking_names.get(username, 0) >= limit:
            # The checks under way may all fail and lock the name: none more until they are done.
            raise LoginBusy(f"Too many logins for '{username}' are being checked at once. Try again in a moment.")
        _checking_names[username] = _checking_names.get(username, 0) + 1
        if client:
            _checking_clients[client] = _checking_clients.get(client, 0) + 1


def _release(username: str, client: str | None, record: Callable[[], None] | None = None) -> None:
    """End a reserved check; ``record`` (its outcome) is written in the same step under the lock.

    Recording and releasing as one step keeps the count exact: a check is never counted twice
    (recorded and still running), which would turn away an attempt the limit still allows.
    """
    with _SLOTS_LOCK:
        try:
            if record is not None:
                record()
        finally:
            for table, key in ((_checking_names, username), (_checking_clients, client)):
                if key and key in table:
                    table[key] -= 1
                    if not table[key]:
                        del table[key]


def authenticate(db: Database, username: str, password: str, channel: str = "web", client: str | None = None) -> User:
    """The user for these credentials; raises LockedOut, ClientThrottled, LoginBusy or AuthError.

    Every password check is recorded; a refusal before the check is not.
    """
    return authenticate_session(db, username, password, channel, client)[0]


def authenticate_session(
    db: Database, username: str, password: str, channel: str = "web", client: str | None = None
) -> tuple[User, int]:
    """:func:`authenticate`, with the user's session generation (what a login cookie carries)."""
    username = (username or "").strip().lower()
    _reserve(db, username, client)
    outcome: bool | None = None
    try:
        found = user_store.user_with_hash(db, username)
        ok = False
        if found is not None:
            ok = bcrypt.checkpw((password or "").encode("utf-8"), found[1].encode("ascii"))
        else:
            # Same work for unknown names, so timing does not reveal which names exist.
            bcrypt.checkpw(b"x", _dummy_hash())
        disabled = ok and found[0].disabled
        outcome = ok and not disabled
    finally:
        # The outcome is recorded as the slot is released, so it is counted exactly once.
        _release(
            username,
            client,
            None if outcome is None else lambda: record_login_attempt(db, username, outcome, channel, client),
        )
    if disabled:
        raise AuthError("This account is disabled. Ask an admin.")
    if not ok:
        until = locked_until(db, username)
        if until is not None:
            raise LockedOut(username, until)
        raise AuthError("Wrong user name or password.")
    return found[0], found[2]


def session_user(db: Database, username: str, generation: int) -> User | None:
    """The enabled user whose session (or login cookie) of ``generation`` is still valid, else None."""
    found = user_store.session_user(db, (username or "").strip().lower())
    if found is None or found[0].disabled or found[1] != generation:
        return None
    return found[0]


def end_sessions(db: Database, user: User) -> None:
    """Log ``user`` out everywhere: every login cookie and open session from before stops working."""
    user_store.end_sessions(db, user)


_DUMMY_HASHES: dict[int, bytes] = {}


def _dummy_hash() -> bytes:
    rounds = _rounds()
    if rounds not in _DUMMY_HASHES:
        _DUMMY_HASHES[rounds] = bcrypt.hashpw(b"forge-dummy", bcrypt.gensalt(rounds))
    return _DUMMY_HASHES[rounds]


def failed_logins(db: Database, actor: User, limit: int = 200) -> list[dict]:
    """Recent failed attempts, newest first (admins only)."""
    _require_admin(db, actor)
    return user_store.failed_logins(db, limit)


def locked_users(db: Database, actor: User) -> list[dict]:
    _require_admin(db, actor)
    out = []
    for name in user_store.names_with_failures(db):
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
    for username, name, email, pw_hash, role in user_store.credentials(db):
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


def create_workspace(db: Database, actor: User, name: str, description: str | None = None) -> Workspace:
    """A new workspace with the creating admin as its first member."""
    actor = _require_admin(db, actor)
    name = (name or "").strip()
    if not _WORKSPACE_NAME.match(name):
        raise AuthError(
            "Workspace name must be 1-64 characters: letters, digits, space, . _ - (starting with a letter or digit)."
        )
    return ws_store.create_workspace(db, name, description, actor.id)


def workspaces_for(db: Database, actor: User) -> list[Workspace]:
    """The workspaces ``actor`` belongs to, by name."""
    return ws_store.workspaces_of(db, actor.id)


def all_workspaces(db: Database, actor: User) -> list[dict]:
    """Every workspace with its members (admins only, for the admin page)."""
    _require_admin(db, actor)
    return ws_store.all_workspaces(db)


def add_member(db: Database, actor: User, workspace_id: str, username: str) -> None:
    _require_admin(db, actor)
    user = _target(db, username)
    if not ws_store.workspace_exists(db, workspace_id):
        raise AuthError("No such workspace.")
    ws_store.add_member(db, workspace_id, user.id)


def remove_member(db: Database, actor: User, workspace_id: str, username: str) -> None:
    _require_admin(db, actor)
    ws_store.remove_member(db, workspace_id, _target(db, username).id)


def delete_workspace(db: Database, actor: User, workspace_id: str, typed_name: str) -> dict[str, int]:
    """Delete a workspace with all its traces, ratings, eval sets, evals, runs and jobs (admins only).

    ``typed_name`` must be the workspace's name, typed by the admin as a confirmation.
    Returns the rows deleted per table.
    """
    _require_admin(db, actor)
    name = next((w["name"] for w in ws_store.all_workspaces(db) if w["id"] == workspace_id), None)
    if name is None:
        raise AuthError("No such workspace.")
    if (typed_name or "").strip() != name:
        raise AuthError(f"Type the workspace's name, '{name}', to confirm deleting it.")
    return ws_store.delete_workspace(db, workspace_id)


def is_member(db: Database, actor: User, workspace_id: str) -> bool:
    return ws_store.is_member(db, actor.id, workspace_id)


def access(db: Database, actor: User | None, workspace_id: str, action: str = "read") -> Access:
    """The proof that ``actor`` is a member of ``workspace_id`` whose role allows ``action``.

    The one permission check of an operation: store functions take the returned ``Access``
    and check further actions against its role without querying. Actions: read, rate,
    import, run, edit. Admins too must be members to see data. Role and disabled flag are
    read from the database, not from ``actor`` (a job or a script may hold a User from
    before an admin demoted or disabled it), so a job checks again when it starts.
    """
    if actor is None:
        raise PermissionDenied("Log in first.")
    if actor.disabled:
        raise PermissionDenied("This account is disabled.")
    found = ws_store.membership(db, actor.id, workspace_id)
    if found is None or found[1]:
        raise PermissionDenied("This account is disabled or no longer exists.")
    role, _, workspace = found
    if workspace is None:
        raise PermissionDenied("You are not a member of this workspace.")
    granted = grant(db, actor, workspace, role, ROLE_ACTIONS.get(role, frozenset()))
    return granted.need(action)


def require(db: Database, actor: User | None, workspace_id: str, action: str = "read") -> Workspace:
    """The workspace, if ``actor`` may ``action`` in it (see :func:`access`); else PermissionDenied."""
    return access(db, actor, workspace_id, action).workspace


def resolve_access(db: Database, actor: User, name: str | None = None, action: str = "read") -> Access:
    """The :func:`access` check for a workspace named ``name``; ``default`` is created on first use."""
    name = name or DEFAULT_WORKSPACE
    ws_id = ws_store.workspace_id_by_name(db, name)
    if ws_id is None:
        if name != DEFAULT_WORKSPACE:
            raise PermissionDenied(f"No workspace '{name}' that you belong to.")
        ws_id = ws_store.get_or_create_with_member(db, name, actor.id).id
    try:
        return access(db, actor, ws_id, action)
    except PermissionDenied as exc:
        if not is_member(db, actor, ws_id):
            raise PermissionDenied(f"No workspace '{name}' that you belong to.") from exc
        raise


def resolve_workspace(db: Database, actor: User, name: str | None = None, action: str = "read") -> Workspace:
    """A workspace by name for ``actor``; ``default`` is created on first use."""
    return resolve_access(db, actor, name, action).workspace
