"""Sessions end server side: logout, a password reset, disabling and a role change log out every
session of the user and make every login cookie written before worthless.

AppTest cannot send a cookie, so the cookie a session would write is taken from the session
(under AppTest the page writes it itself, so the signed token is in ``forge_set_cookie``) and
judged by the same functions app.py judges a browser's cookie with; tests/e2e/test_login_cookie.py
sends a copied cookie from a real browser.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from forge import auth
from forge.config import settings
from forge.ui import login
from tests.conftest import PASSWORD
from tests.pages.conftest import log_in, new_app

ENDED = "Your session has ended"


def _cookie_user(db, at):
    """Whom the cookie this session wrote would log in (None: the login form)."""
    token = at.session_state["forge_set_cookie"]["token"]
    claims = login.cookie_claims(token, settings().cookie_key)
    return claims and auth.session_user(db, claims["username"], claims["gen"])


def _logged_out(at, notice: str) -> bool:
    return not at.session_state["authentication_status"] and any(notice in str(i.value) for i in at.info)


def test_the_cookie_is_refused_when_forged_expired_or_from_before_generations(db, app_as, analyst):
    at = app_as("ana")
    token = at.session_state["forge_set_cookie"]["token"]
    key = settings().cookie_key
    assert _cookie_user(db, at).username == "ana"
    assert login.cookie_claims(token, key + "x") is None  # signed with another key
    header, _, signature = token.split(".")
    as_admin = jwt.encode({"username": "admin", "gen": 0, "exp_date": 4e9}, "a guessed key " * 4, "HS256").split(".")[1]
    assert login.cookie_claims(f"{header}.{as_admin}.{signature}", key) is None  # another name, same signature
    expired = login.cookie_token("ana", 0, datetime.now(UTC) - timedelta(seconds=1), key)
    assert login.cookie_claims(expired, key) is None
    older = jwt.encode({"username": "ana", "exp_date": 4e9}, key, "HS256")  # a cookie of an older Forge
    assert login.cookie_claims(older, key) is None


def test_logout_ends_every_session_and_the_cookie_of_the_user(db, app_as, analyst):
    laptop, phone = app_as("ana"), app_as("ana")
    assert _cookie_user(db, laptop).username == "ana"
    laptop_cookie = laptop.session_state["forge_set_cookie"]["token"]
    laptop.sidebar.button(key="forge_logout_button").click().run()
    assert not laptop.exception and not laptop.session_state["authentication_status"]
    claims = login.cookie_claims(laptop_cookie, settings().cookie_key)
    assert auth.session_user(db, claims["username"], claims["gen"]) is None  # the copied cookie is dead
    assert _cookie_user(db, phone) is None
    phone.run()  # the other browser's open session ends on its next run
    assert not phone.exception and _logged_out(phone, ENDED)
    # A new login starts a new session that works.
    log_in(phone, "ana", PASSWORD)
    assert phone.session_state["authentication_status"]
    phone.run()
    assert phone.session_state["authentication_status"] and _cookie_user(db, phone).username == "ana"


@pytest.mark.parametrize(
    "change, notice",
    [
        (lambda db, admin: auth.set_password(db, admin, "ana", "reset by the admin!"), ENDED),
        (lambda db, admin: auth.set_role(db, admin, "ana", "viewer"), ENDED),
        (lambda db, admin: auth.set_disabled(db, admin, "ana", True), "disabled"),
    ],
    ids=["admin reset", "role change", "disable"],
)
def test_an_admin_change_ends_the_session_and_the_cookie(db, app_as, admin, analyst, change, notice):
    at = app_as("ana")
    assert _cookie_user(db, at).username == "ana"
    change(db, admin)
    assert _cookie_user(db, at) is None  # captured before the change: no login after it
    at.run()
    assert not at.exception and _logged_out(at, notice)
    assert not at.sidebar.button  # no pages, no logout button


def test_changes_that_change_nothing_keep_the_session(db, app_as, admin, analyst):
    at = app_as("ana")
    auth.set_role(db, admin, "ana", "analyst")  # the admin page's Apply sets role and access together
    auth.set_disabled(db, admin, "ana", False)
    at.run()
    assert not at.exception and at.session_state["authentication_status"]
    assert _cookie_user(db, at).username == "ana"


def test_a_throttled_address_is_told_so_and_does_not_lock_the_account(db, admin, monkeypatch):
    monkeypatch.setenv("FORGE_CLIENT_MAX_FAILED_LOGINS", "3")
    at = new_app().run()
    for name in ("nobody", "ghost", "admin"):
        log_in(at, name, "wrong password 123")
    log_in(at, "admin", PASSWORD)
    assert any("Too many failed logins from your address" in str(e.value) for e in at.error)
    assert not at.session_state["authentication_status"]
    assert auth.locked_until(db, "admin") is None


def _cookie_server():
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from forge.ui import session_cookie

    # Not ``serving``: the app run by AppTest in this process keeps writing the cookie from the page.
    return TestClient(Starlette(routes=session_cookie.routes(serving=False))), session_cookie


def test_the_server_sets_the_cookie_httponly_for_a_one_time_ticket_and_secure_over_https():
    client, session_cookie = _cookie_server()
    expires = datetime.now(UTC) + timedelta(days=7)
    ticket = session_cookie.issue("signed-token", expires)
    headers = {"X-Forge-Cookie": "1", "X-Forge-Ticket": ticket}
    # Another site's page cannot add the header without a preflight this server never grants.
    assert client.post(session_cookie.SET_PATH, headers={"X-Forge-Ticket": ticket}).status_code == 403
    answer = client.post(session_cookie.SET_PATH, headers={**headers, "X-Forwarded-Proto": "https"})
    assert answer.status_code == 204
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("forge_auth=signed-token;")
    assert all(a in cookie for a in ("HttpOnly", "SameSite=strict", "Path=/", "Secure"))
    assert client.post(session_cookie.SET_PATH, headers=headers).status_code == 410  # used once only
    plain = client.post(
        session_cookie.SET_PATH, headers={**headers, "X-Forge-Ticket": session_cookie.issue("t", expires)}
    )
    assert "HttpOnly" in plain.headers["set-cookie"] and "Secure" not in plain.headers["set-cookie"]  # plain HTTP
    gone = client.post(session_cookie.DELETE_PATH, headers={"X-Forge-Cookie": "1"})
    assert gone.status_code == 204 and 'forge_auth="";' in gone.headers["set-cookie"]
