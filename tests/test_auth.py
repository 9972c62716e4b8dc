"""Users, passwords, roles, lockout and workspace membership rules in forge.auth."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest

from forge import auth
from forge.config import MIN_PASSWORD_LENGTH
from tests.conftest import PASSWORD


def test_first_admin_once_then_refused(db):
    assert not auth.has_users(db)
    admin = auth.create_first_admin(db, "Root", PASSWORD, "Root Admin")
    assert admin.role == "admin" and admin.username == "root"
    assert [w.name for w in auth.workspaces_for(db, admin)] == ["default"]
    with pytest.raises(auth.PermissionDenied, match="already exists"):
        auth.create_first_admin(db, "second", PASSWORD)
    assert [u.username for u in auth.list_users(db, admin)] == ["root"]


def test_password_is_bcrypt_hashed_never_stored_plain(db, admin):
    stored = db.scalar("SELECT password_hash FROM users WHERE username = 'admin'")
    assert stored.startswith("$2") and PASSWORD not in stored


@pytest.mark.parametrize("bad", ["", "short", "x" * (MIN_PASSWORD_LENGTH - 1)])
def test_short_passwords_refused(db, admin, bad):
    with pytest.raises(auth.AuthError, match=f"at least {MIN_PASSWORD_LENGTH}"):
        auth.create_user(db, admin, "newbie", bad, "analyst")
    assert auth.get_user(db, "newbie") is None


def test_passwords_with_outer_spaces_refused_because_the_form_trims_them(db, admin):
    with pytest.raises(auth.AuthError, match="start or end with a space"):
        auth.create_user(db, admin, "newbie", " padded passphrase ", "analyst")


def test_login_is_case_insensitive_on_name_and_checks_password(db, admin):
    assert auth.authenticate(db, "ADMIN", PASSWORD).id == admin.id
    with pytest.raises(auth.AuthError, match="Wrong user name or password"):
        auth.authenticate(db, "admin", PASSWORD + "!")
    with pytest.raises(auth.AuthError, match="Wrong user name or password"):
        auth.authenticate(db, "nobody", PASSWORD)


def test_lockout_after_five_failures_recorded_for_admin_and_ended_by_reset(db, admin, analyst):
    for _ in range(4):
        with pytest.raises(auth.AuthError) as exc:
            auth.authenticate(db, "ana", "wrong password!")
        assert not isinstance(exc.value, auth.LockedOut)
    with pytest.raises(auth.LockedOut, match="Try again in 15 minutes"):
        auth.authenticate(db, "ana", "wrong password!")
    # Even the right password is refused while locked.
    with pytest.raises(auth.LockedOut):
        auth.authenticate(db, "ana", PASSWORD)
    # Other users are unaffected; ana's existing sessions (cookie) are not ended by a guesser.
    assert auth.authenticate(db, "admin", PASSWORD)
    assert "ana" in auth.authenticator_credentials(db)["usernames"]
    # The admin sees it.
    assert {r["username"] for r in auth.failed_logins(db, admin)} == {"ana"}
    assert [r["username"] for r in auth.locked_users(db, admin)] == ["ana"]
    # A reset ends it.
    auth.set_password(db, admin, "ana", "a brand new passphrase")
    assert auth.authenticate(db, "ana", "a brand new passphrase").username == "ana"


def test_lockout_expires(db, analyst, monkeypatch):
    for _ in range(5):
        with pytest.raises(auth.AuthError):
            auth.authenticate(db, "ana", "wrong password!")
    assert auth.locked_until(db, "ana") is not None
    # Age every attempt past the 15-minute window.
    db.execute("UPDATE login_attempts SET attempted_at = attempted_at - INTERVAL 16 MINUTE")
    assert auth.locked_until(db, "ana") is None
    assert auth.authenticate(db, "ana", PASSWORD).username == "ana"


def test_lockout_settings_come_from_env(db, analyst, monkeypatch):
    monkeypatch.setenv("FORGE_MAX_FAILED_LOGINS", "2")
    monkeypatch.setenv("FORGE_LOCKOUT_MINUTES", "1")
    for _ in range(2):
        with pytest.raises(auth.AuthError):
            auth.authenticate(db, "ana", "wrong password!")
    until = auth.locked_until(db, "ana")
    assert until is not None and until - auth.utcnow() <= timedelta(minutes=1)


def test_disabled_user_cannot_log_in_or_read(db, admin, analyst, default_ws):
    auth.set_disabled(db, admin, "ana", True)
    with pytest.raises(auth.AuthError, match="disabled"):
        auth.authenticate(db, "ana", PASSWORD)
    ana = auth.get_user(db, "ana")
    with pytest.raises(auth.PermissionDenied):
        auth.require(db, ana, default_ws.id)


def test_only_admins_manage_users_and_workspaces(db, admin, analyst, default_ws):
    with pytest.raises(auth.PermissionDenied):
        auth.create_user(db, analyst, "eve", PASSWORD, "admin")
    with pytest.raises(auth.PermissionDenied):
        auth.create_workspace(db, analyst, "mine")
    with pytest.raises(auth.PermissionDenied):
        auth.add_member(db, analyst, default_ws.id, "ana")
    with pytest.raises(auth.PermissionDenied):
        auth.set_password(db, analyst, "admin", "taken over by ana!")
    with pytest.raises(auth.PermissionDenied):
        auth.list_users(db, analyst)
    # A user may change their own password.
    auth.set_password(db, analyst, "ana", "my own new passphrase")
    assert auth.authenticate(db, "ana", "my own new passphrase")


def test_last_admin_cannot_be_demoted(db, admin):
    with pytest.raises(auth.AuthError, match="last admin"):
        auth.set_role(db, admin, "admin", "viewer")


def test_viewer_may_read_but_not_rate_import_or_run(db, admin, default_ws):
    viewer = auth.create_user(db, admin, "vic", PASSWORD, "viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    assert auth.require(db, viewer, default_ws.id, "read").name == "default"
    for action in ("rate", "import", "run", "edit"):
        with pytest.raises(auth.PermissionDenied, match="viewer"):
            auth.require(db, viewer, default_ws.id, action)


def test_membership_governs_workspace_list_and_access(db, admin, analyst, outsider, default_ws):
    assert [w.name for w in auth.workspaces_for(db, outsider)] == ["otto-space"]
    with pytest.raises(auth.PermissionDenied, match="not a member"):
        auth.require(db, outsider, default_ws.id)
    auth.add_member(db, admin, default_ws.id, "otto")
    assert auth.require(db, outsider, default_ws.id).name == "default"
    auth.remove_member(db, admin, default_ws.id, "otto")
    with pytest.raises(auth.PermissionDenied):
        auth.require(db, outsider, default_ws.id)


def test_admin_sees_all_workspaces_with_members(db, admin, analyst, outsider):
    rows = {r["name"]: r["members"] for r in auth.all_workspaces(db, admin)}
    assert rows == {"default": ["admin", "ana"], "otto-space": ["admin", "otto"]}


def test_resolve_workspace_refuses_names_of_others(db, admin, outsider):
    with pytest.raises(auth.PermissionDenied, match="No workspace 'default' that you belong to"):
        auth.resolve_workspace(db, outsider, "default")
    with pytest.raises(auth.PermissionDenied, match="No workspace 'nope'"):
        auth.resolve_workspace(db, outsider, "nope")


def test_duplicate_and_invalid_names_refused(db, admin):
    with pytest.raises(auth.AuthError, match="already exists"):
        auth.create_user(db, admin, "Admin", PASSWORD, "analyst")
    with pytest.raises(auth.AuthError, match="User name"):
        auth.create_user(db, admin, "a b", PASSWORD, "analyst")
    with pytest.raises(auth.AuthError, match="Role must be"):
        auth.create_user(db, admin, "carl", PASSWORD, "superuser")
    auth.create_workspace(db, admin, "Team A")
    with pytest.raises(auth.AuthError, match="already exists"):
        auth.create_workspace(db, admin, "Team A")


def test_delete_user_not_yourself_not_the_last_admin(db, admin, analyst):
    other = auth.create_user(db, admin, "root2", PASSWORD, "admin")
    with pytest.raises(auth.AuthError, match="your own account"):
        auth.delete_user(db, admin, "admin")
    with pytest.raises(auth.PermissionDenied):
        auth.delete_user(db, analyst, "root2")
    auth.delete_user(db, other, "admin")  # two admins: one may go
    assert auth.get_user(db, "admin") is None
    auth.create_user(db, other, "root3", PASSWORD, "viewer")
    with pytest.raises(auth.AuthError, match="your own account"):
        auth.delete_user(db, other, "root2")
    auth.set_disabled(db, other, "ana", True)
    auth.delete_user(db, other, "ana")
    assert [u.username for u in auth.list_users(db, other)] == ["root2", "root3"]


def test_last_admin_cannot_be_deleted_by_another_admin_left_disabled(db, admin):
    other = auth.create_user(db, admin, "root2", PASSWORD, "admin")
    auth.set_disabled(db, admin, "root2", True)  # root2 disabled: admin is the last enabled admin
    enabled_other = auth.get_user(db, "root2")
    with pytest.raises(auth.PermissionDenied):  # a disabled admin can do nothing
        auth.delete_user(db, enabled_other, "admin")
    assert other.username == "root2"


def test_delete_workspace_needs_admin_and_the_exact_name(db, admin, analyst, default_ws):
    with pytest.raises(auth.PermissionDenied):
        auth.delete_workspace(db, analyst, default_ws.id, "default")
    with pytest.raises(auth.AuthError, match="Type the workspace's name"):
        auth.delete_workspace(db, admin, default_ws.id, "Default")
    deleted = auth.delete_workspace(db, admin, default_ws.id, "default")
    assert deleted["workspaces"] == 1 and deleted["memberships"] == 2
    assert auth.workspaces_for(db, analyst) == []


# ---------------------------------------------------------------- parallel guesses, clients, sessions


def _burst(db, username: str, passwords: list[str], client=None) -> dict[str, int]:
    """Every password tried at once (a barrier releases all threads together); outcomes counted."""
    barrier = threading.Barrier(len(passwords))
    outcomes: list[str] = []

    def attempt(password: str) -> None:
        barrier.wait()
        try:
            auth.authenticate(db, username, password, **({"client": client} if client else {}))
            outcomes.append("logged in")
        except auth.LockedOut:
            outcomes.append("locked")
        except auth.ClientThrottled:
            outcomes.append("throttled")
        except auth.LoginBusy:
            outcomes.append("busy")
        except auth.AuthError:
            outcomes.append("wrong")

    threads = [threading.Thread(target=attempt, args=(p,)) for p in passwords]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {k: outcomes.count(k) for k in ("logged in", "locked", "busy", "throttled", "wrong")}


def _checks(db, username: str) -> int:
    """Password checks that ran for ``username`` (each records its outcome; refusals record nothing)."""
    return db.scalar("SELECT count(*) FROM login_attempts WHERE username = ?", [username])


def test_a_burst_of_parallel_guesses_runs_no_more_password_checks_than_the_lockout_allows(db, admin, monkeypatch):
    # A real cost factor: each check takes tens of milliseconds, a window wide enough for any race to show.
    monkeypatch.setenv("FORGE_BCRYPT_ROUNDS", "10")
    auth.create_user(db, admin, "bea", PASSWORD, "analyst")
    guesses = [f"guess number {i:03d}" for i in range(99)]
    guesses.insert(random.randrange(100), PASSWORD)  # the right password among them
    counts = _burst(db, "bea", guesses)
    # In the order recorded: never more than five failed checks in a row, and a login only before the fifth.
    streak = 0
    for (success,) in db.fetchall("SELECT success FROM login_attempts WHERE username = 'bea' ORDER BY attempted_at"):
        assert not success or streak < 5, counts
        streak = 0 if success else streak + 1
        assert streak <= 5, counts
    assert counts["logged in"] <= 1 and counts["locked"] + counts["busy"] >= 90, counts
    if counts["logged in"] == 0:  # the right one was not among the five checked: bea is locked now
        assert _checks(db, "bea") == 5
        with pytest.raises(auth.LockedOut):
            auth.authenticate(db, "bea", PASSWORD)


def test_a_burst_at_a_name_one_failure_from_lockout_checks_one_password_then_locks_it(db, admin, monkeypatch):
    monkeypatch.setenv("FORGE_BCRYPT_ROUNDS", "10")
    auth.create_user(db, admin, "bea", PASSWORD, "analyst")
    for _ in range(4):
        with pytest.raises(auth.AuthError):
            auth.authenticate(db, "bea", "wrong password!")
    counts = _burst(db, "bea", [f"guess number {i:03d}" for i in range(100)])
    # One slot left: one check ran; everything else was refused without a check.
    assert _checks(db, "bea") == 5, counts
    assert counts["locked"] + counts["busy"] == 100
    with pytest.raises(auth.LockedOut):  # locked now: the right password is refused
        auth.authenticate(db, "bea", PASSWORD)


def test_one_client_guessing_names_is_throttled_and_cannot_lock_the_admin_or_anyone_else(db, admin, analyst):
    attacker, colleague = "203.0.113.9", "198.51.100.7"
    guesses = ["ana", "ana", "ana", "ana", "zed", "yan", "xia", "wim", "vic", "uma"]  # 10: the default limit
    for name in guesses:
        with pytest.raises(auth.AuthError) as exc:
            auth.authenticate(db, name, "wrong password!", client=attacker)
        assert not isinstance(exc.value, auth.LockedOut)
    # Throttled now: refused before any check, whatever the name or password, and nothing counts.
    for _ in range(20):
        with pytest.raises(auth.ClientThrottled, match="from your address. Try again in 15 minutes"):
            auth.authenticate(db, "admin", "wrong password!", client=attacker)
    with pytest.raises(auth.ClientThrottled):
        auth.authenticate(db, "admin", PASSWORD, client=attacker)
    assert auth.locked_until(db, "admin") is None
    assert auth.locked_until(db, "ana") is None  # four failures: one short of a lockout
    # Everyone else logs in, from another address (and ana's streak is broken by her success).
    assert auth.authenticate(db, "admin", PASSWORD, client=colleague).username == "admin"
    assert auth.authenticate(db, "ana", PASSWORD, client=colleague).username == "ana"
    # The throttle ends with its window.
    db.execute("UPDATE login_client_failures SET attempted_at = attempted_at - INTERVAL 16 MINUTE")
    assert auth.authenticate(db, "admin", PASSWORD, client=attacker).username == "admin"


def test_a_parallel_burst_from_one_client_across_names_checks_at_most_its_limit(db, admin, monkeypatch):
    monkeypatch.setenv("FORGE_CLIENT_MAX_FAILED_LOGINS", "3")
    counts = _burst(db, "admin", ["wrong password!"] * 30, client="203.0.113.9")
    assert _checks(db, "admin") == 3 and counts["throttled"] + counts["busy"] == 27, counts
    assert auth.locked_until(db, "admin") is None  # three failures, below the per-name five


def test_the_admin_functions_reread_a_stale_admin_object(db, admin, analyst, default_ws):
    """A User held from when it was admin (a page, a job, a script) must not act after a demotion."""
    root2 = auth.create_user(db, admin, "root2", PASSWORD, "admin")  # held in memory as admin
    auth.set_role(db, admin, "root2", "viewer")
    auth.set_disabled(db, admin, "root2", True)
    attempts = {
        "set_role": lambda: auth.set_role(db, root2, "root2", "admin"),
        "set_disabled": lambda: auth.set_disabled(db, root2, "root2", False),
        "create_workspace": lambda: auth.create_workspace(db, root2, "mine"),
        "add_member": lambda: auth.add_member(db, root2, default_ws.id, "root2"),
        "remove_member": lambda: auth.remove_member(db, root2, default_ws.id, "ana"),
        "list_users": lambda: auth.list_users(db, root2),
        "create_user": lambda: auth.create_user(db, root2, "eve", PASSWORD, "admin"),
        "set_password": lambda: auth.set_password(db, root2, "admin", "taken over by root2"),
        "set_email": lambda: auth.set_email(db, root2, "admin", "root2@example.com"),
        "delete_user": lambda: auth.delete_user(db, root2, "ana"),
        "all_workspaces": lambda: auth.all_workspaces(db, root2),
        "delete_workspace": lambda: auth.delete_workspace(db, root2, default_ws.id, "default"),
        "failed_logins": lambda: auth.failed_logins(db, root2),
        "locked_users": lambda: auth.locked_users(db, root2),
    }
    for name, call in attempts.items():
        with pytest.raises(auth.PermissionDenied):
            call()
            pytest.fail(f"a stale admin object could {name}")
    stored = auth.get_user(db, "root2")
    assert stored.role == "viewer" and stored.disabled
    assert auth.workspaces_for(db, admin)[0].name == "default"
    assert auth.get_user(db, "eve") is None and auth.authenticate(db, "admin", PASSWORD)
    # Demoted but enabled: still no admin functions.
    auth.set_disabled(db, admin, "root2", False)
    with pytest.raises(auth.PermissionDenied):
        auth.set_role(db, root2, "root2", "admin")


NEW = "a brand new passphrase"


@pytest.mark.parametrize(
    "change, password_after",
    [
        (lambda db, admin: auth.end_sessions(db, auth.get_user(db, "ana")), PASSWORD),  # logout
        (lambda db, admin: auth.set_password(db, admin, "ana", NEW), NEW),  # an admin's reset
        (lambda db, admin: auth.set_password(db, auth.get_user(db, "ana"), "ana", NEW), NEW),  # her own change
        (lambda db, admin: auth.set_disabled(db, admin, "ana", True), PASSWORD),
        (lambda db, admin: auth.set_role(db, admin, "ana", "viewer"), PASSWORD),
    ],
    ids=["logout", "admin reset", "own password change", "disable", "role change"],
)
def test_each_change_that_must_end_sessions_ends_them(db, admin, analyst, change, password_after):
    user, generation = auth.authenticate_session(db, "ana", PASSWORD)
    assert auth.session_user(db, "ana", generation) == user
    change(db, admin)
    assert auth.session_user(db, "ana", generation) is None
    auth.set_disabled(db, admin, "ana", False)  # a new login starts a new valid session
    fresh = auth.authenticate_session(db, "ana", password_after)[1]
    assert fresh != generation and auth.session_user(db, "ana", fresh) is not None


def test_changes_that_change_nothing_keep_sessions(db, admin, analyst):
    generation = auth.authenticate_session(db, "ana", PASSWORD)[1]
    auth.set_role(db, admin, "ana", "analyst")  # the admin page applies role and access together
    auth.set_disabled(db, admin, "ana", False)
    auth.set_email(db, admin, "ana", "ana@example.com")
    assert auth.session_user(db, "ana", generation) is not None
