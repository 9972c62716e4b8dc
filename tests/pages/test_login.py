"""The auth gate of app.py: first-run admin form, login, lockout, logout."""

from __future__ import annotations

import pytest

from forge import auth
from tests.conftest import PASSWORD
from tests.pages.conftest import log_in, new_app


def _texts(at, kind: str) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def _fill_first_admin(at, name="Ada Admin", username="Ada", password=PASSWORD, confirm=None):
    fields = {t.label: t for t in at.text_input}
    fields["Your name"].input(name)
    fields["User name"].input(username)
    fields["Password"].input(password)
    fields["Confirm password"].input(password if confirm is None else confirm)
    next(b for b in at.button if b.label == "Create admin account").click()
    return at.run()


def test_first_start_shows_only_the_admin_form_and_it_is_gone_once_created(db):
    at = new_app().run()
    assert not at.exception
    assert _texts(at, "subheader") == ["Create the admin account"]
    assert [b.label for b in at.button] == ["Create admin account"]

    _fill_first_admin(at)
    assert not at.exception
    assert auth.get_user(db, "ada").role == "admin"
    assert "Create the admin account" not in _texts(at, "subheader")
    assert "Log in" in _texts(at, "subheader")
    assert any("Admin account 'ada' created" in t for t in _texts(at, "info"))

    fresh = new_app().run()  # another visitor later: only the login form
    assert _texts(fresh, "subheader") == ["Log in"]
    assert "Create admin account" not in [b.label for b in fresh.button]


@pytest.mark.parametrize(
    "password, confirm, message",
    [("short", "short", "at least 10 characters"), (PASSWORD, PASSWORD + "!", "passwords differ")],
)
def test_first_admin_form_refuses_weak_or_mismatched_passwords(db, password, confirm, message):
    at = _fill_first_admin(new_app().run(), password=password, confirm=confirm)
    assert not at.exception
    assert any(message in t for t in _texts(at, "error"))
    assert not auth.has_users(db)
    assert "Create the admin account" in _texts(at, "subheader")


def test_login_shows_home_with_user_role_and_workspace(db, admin, default_ws):
    at = log_in(new_app().run(), "Admin", PASSWORD)  # user names are case-insensitive
    assert not at.exception
    assert at.session_state["authentication_status"] is True
    assert _texts(at, "title") == ["Workspace · default"]
    sidebar = " ".join(str(m.value) for m in at.sidebar.caption)
    assert "Ada Admin" in sidebar and "admin" in sidebar
    assert at.sidebar.selectbox(key="forge_workspace_pick").value == "default"
    assert at.session_state["forge_workspace_id"] == default_ws.id


def test_wrong_password_is_refused_and_recorded(db, admin):
    at = log_in(new_app().run(), "admin", "not the password at all")
    assert not at.exception
    assert "Wrong user name or password." in _texts(at, "error")
    assert not at.session_state["authentication_status"]
    assert [r["username"] for r in auth.failed_logins(db, admin)] == ["admin"]


def test_five_failures_lock_the_user_out_and_say_for_how_long(db, admin):
    at = new_app().run()
    for _ in range(4):
        log_in(at, "admin", "wrong password 123")
        assert "Wrong user name or password." in _texts(at, "error")
    log_in(at, "admin", "wrong password 123")
    locked = [t for t in _texts(at, "error") if "Too many failed logins" in t]
    assert locked and "15 minutes" in locked[0]
    # Even the right password is refused while locked.
    log_in(at, "admin", PASSWORD)
    assert any("Too many failed logins" in t for t in _texts(at, "error"))
    assert not at.session_state["authentication_status"]
    assert [u["username"] for u in auth.locked_users(db, admin)] == ["admin"]


def test_logout_clears_the_whole_session(app_as, default_ws):
    at = app_as("admin")
    at.session_state["forge_scratch"] = "left by some page"
    at.sidebar.button(key="forge_logout_button").click().run()
    assert not at.exception
    assert not at.session_state["authentication_status"]
    assert "forge_scratch" not in at.session_state
    assert "forge_workspace_id" not in at.session_state
    assert _texts(at, "subheader") == ["Log in"]
    assert not at.sidebar.button  # no logout button, no pages


def test_disabled_user_is_logged_out_on_the_next_run(db, app_as, admin, analyst):
    at = app_as("ana")
    auth.set_disabled(db, admin, "ana", True)
    at.run()
    assert not at.exception
    assert not at.session_state["authentication_status"]
    assert any("disabled" in t for t in _texts(at, "info"))
    log_in(at, "ana", PASSWORD)
    assert any("disabled" in t for t in _texts(at, "error"))


def test_user_in_no_workspace_is_told_to_ask_an_admin(db, app_as, admin):
    auth.create_user(db, admin, "nowhere", PASSWORD, "analyst")
    at = app_as("nowhere")
    assert not at.exception
    assert any("ask an admin to add you to a workspace" in t for t in _texts(at, "info"))
