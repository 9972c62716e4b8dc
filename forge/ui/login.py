"""streamlit-authenticator glue: first-run admin form, login, cookie, logout, sidebar.

Users and bcrypt hashes live in DuckDB. Each run builds one ``Authenticate`` from a
deep copy of ``forge.auth.authenticator_credentials`` and replaces its password
check with ``forge.auth.authenticate_session``, so every attempt is recorded, lockouts
and the per-address throttle apply. The library still owns its session keys.

The re-login cookie is ours: a token signed with the cookie key (HS256, as the library's)
holding the user name, expiry and the user's session generation. Every run compares the
session's generation with the user's in the database (``restore_session``), so a logout,
a password change or reset, disabling or a role change ends this session and makes every
copy of the cookie worthless (``forge.auth.end_sessions``).

Setting and deleting the cookie are scripts in the page (``forge.ui.browser``; the
library's cookie-manager component cost an iframe and a rerun): they act only when a
run that renders them reaches the browser, and a run can be cut short (st.rerun,
or a newer rerun request). So ``sync_cookie`` renders the pending write on every
run of the session with the same arguments (the script runs once per mount):
after login the signed token (under the Forge server a one-time ticket for it, so the
cookie is HttpOnly: ``forge.ui.session_cookie``), fixed once; after logout the deletion.

The form is ours (the library's ``login`` view sleeps ``login_sleep_time`` each run
to wait for its cookie component; we read ``st.context.cookies`` instead, so no
sleep and nothing to tune in tests).
"""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta

import jwt
import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError

from forge import auth
from forge.config import MIN_PASSWORD_LENGTH, get, settings
from forge.store import Database
from forge.ui import browser, keys, session_cookie, state
from forge.ui.widgets import md

# The cookie manager is an invisible browser component, but while it loads Streamlit draws a
# grey skeleton bar for it above the login form. Take it out of the layout (it still runs).
_HIDE_COOKIE_COMPONENT = """<style>
.stElementContainer:has(iframe[title*="cookie_manager"]) {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
}
</style>"""


def authenticator(db: Database) -> stauth.Authenticate:
    """The run's one Authenticate, checking passwords through forge.auth."""
    st.html(_HIDE_COOKIE_COMPONENT)
    cfg = settings()
    authn = stauth.Authenticate(
        copy.deepcopy(auth.authenticator_credentials(db)),
        cookie_name=cfg.cookie_name,
        cookie_key=cfg.cookie_key,
        cookie_expiry_days=cfg.cookie_expiry_days,
        auto_hash=False,
    )
    model = authn.authentication_controller.authentication_model
    authn.forge_error = None
    authn.forge_generation = None

    def check_credentials(username: str, password: str) -> bool:
        try:
            _, authn.forge_generation = auth.authenticate_session(
                db, username, password, channel="web", client=client_address()
            )
        except auth.AuthError as exc:  # LockedOut and ClientThrottled included: their messages say how long
            authn.forge_error = str(exc)
            return False
        return True

    model.check_credentials = check_credentials
    return authn


def client_address() -> str:
    """Who is logging in, for the per-client login throttle: the remote address.

    Behind a reverse proxy every connection comes from the proxy; with FORGE_TRUST_PROXY=1 the
    client is the last X-Forwarded-For entry (the one the proxy added, which a client cannot
    forge). Local connections (no address) are one client, "local".
    """
    if (get("FORGE_TRUST_PROXY") or "").strip().lower() in ("1", "true", "yes"):
        forwarded = (st.context.headers.get("X-Forwarded-For") or "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    ip = st.context.ip_address
    return ip if isinstance(ip, str) and ip else "local"  # AppTest's context holds no address


def apply_logout_request(authn: stauth.Authenticate, db: Database) -> None:
    """If the logout button was pressed: end every session of the user and delete the cookie."""
    if st.session_state.get(keys.LOGOUT_REQUESTED):
        user = auth.get_user(db, st.session_state.get(keys.AUTH_USERNAME) or "")
        if user is not None and st.session_state.get(keys.AUTH_STATUS):
            auth.end_sessions(db, user)  # a copy of the cookie, or another browser, is logged out too
        log_out(authn)


def log_out(authn: stauth.Authenticate, notice: str | None = None) -> None:
    """Clear every session key (not only the library's) and delete the cookie."""
    if st.session_state.get(keys.AUTH_STATUS):
        authn.authentication_controller.logout()
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    for key in ("name", keys.AUTH_STATUS, keys.AUTH_USERNAME, "email", "roles"):
        st.session_state[key] = None
    # The browser sent the cookie with this session's first request; the flag keeps
    # the library from logging in again with it before the deletion lands.
    st.session_state[keys.AUTH_LOGOUT] = True
    st.session_state[keys.DELETE_COOKIE] = True
    if notice:
        st.session_state[keys.LOGIN_NOTICE] = notice


def restore_session(authn: stauth.Authenticate, db: Database) -> auth.User | None:
    """The logged-in user (from this session or a valid cookie), re-read from the database.

    Every run checks the session's generation against the user's (see forge.auth.end_sessions):
    after a logout, a password change or reset, disabling or a role change, this session and
    every copy of its cookie are logged out.
    """
    if not st.session_state.get(keys.AUTH_STATUS) and not st.session_state.get(keys.AUTH_LOGOUT):
        claims = cookie_claims(_cookie(authn), authn.cookie_controller.cookie_model.cookie_key)
        if claims and auth.session_user(db, claims["username"], claims["gen"]) is not None:
            try:
                authn.authentication_controller.login(token={"username": claims["username"]})
                st.session_state[keys.SESSION_GENERATION] = claims["gen"]
            except LoginError:  # not among the enabled users any more
                pass
    if not st.session_state.get(keys.AUTH_STATUS):
        return None
    username = st.session_state.get(keys.AUTH_USERNAME) or ""
    user = auth.session_user(db, username, st.session_state.get(keys.SESSION_GENERATION, -1))
    if user is None:
        stored = auth.get_user(db, username)
        if stored is None or stored.disabled:
            log_out(authn, "Your account is disabled or no longer exists. Ask an admin.")
        else:
            log_out(authn, "Your session has ended (logged out elsewhere, or your password or role changed).")
    return user


def _cookie(authn: stauth.Authenticate) -> str | None:
    # Only a real cookie string is worth decoding (AppTest's mocked context holds none).
    value = st.context.cookies.get(authn.cookie_controller.cookie_model.cookie_name)
    return value if isinstance(value, str) else None


def cookie_token(username: str, generation: int, expires: datetime, key: str) -> str:
    """The signed login cookie: user name, session generation and expiry (HS256 with the cookie key)."""
    return jwt.encode({"username": username, "gen": generation, "exp_date": expires.timestamp()}, key, "HS256")


def cookie_claims(token: str | None, key: str) -> dict | None:
    """What a login cookie says, if it is ours, signed with ``key``, unexpired and carries a generation."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return None
    if not isinstance(claims.get("username"), str) or not isinstance(claims.get("gen"), int):
        return None  # a cookie from before session generations: log in again
    if not isinstance(claims.get("exp_date"), int | float) or claims["exp_date"] <= time.time():
        return None
    return claims


def sync_cookie(authn: stauth.Authenticate) -> None:
    """Render the pending cookie write (set after login, delete after logout), every run."""
    model = authn.cookie_controller.cookie_model
    if st.session_state.get(keys.DELETE_COOKIE):
        browser.delete_cookie(model.cookie_name)
        return
    pending = st.session_state.get(keys.SET_COOKIE)
    if not pending or model.cookie_expiry_days == 0 or not st.session_state.get(keys.AUTH_STATUS):
        return
    if pending is True:  # first run after login: sign the token and fix its expiry once
        expires = datetime.now(UTC) + timedelta(days=model.cookie_expiry_days)
        token = cookie_token(
            st.session_state[keys.AUTH_USERNAME], st.session_state[keys.SESSION_GENERATION], expires, model.cookie_key
        )
        # Under the Forge server the token stays here: the page gets a one-time ticket for it.
        ticket = session_cookie.issue(token, expires) if session_cookie.routes_mounted() else None
        pending = {"ticket": ticket} if ticket else {"token": token, "expires": expires}
        st.session_state[keys.SET_COOKIE] = pending
    if pending.get("ticket"):
        browser.set_cookie_by_ticket(pending["ticket"])
    else:
        browser.set_cookie(model.cookie_name, pending["token"], pending["expires"])


def login_pages(authn: stauth.Authenticate, db: Database, url_paths: list[str]) -> list[st.Page]:
    """The pages before login: first-run admin form or the login form, at every app URL.

    Registering the login form under each page's URL lets a bookmarked link show the
    login form (not "page not found"), and the user lands on that page after logging in.
    """

    def render() -> None:
        _, middle, _ = st.columns([1, 2, 1])  # a readable form width on the wide layout
        with middle:
            st.title(":material/local_fire_department: Forge")
            st.caption("Run prompts across models, import and rate traces, and see where evals disagree with people.")
            if not auth.has_users(db):
                _first_admin_form(db)
            else:
                _login_form(authn)

    return [st.Page(render, title="Log in", icon=":material/login:", url_path="login", default=True)] + [
        st.Page(render, title="Log in", url_path=url) for url in url_paths
    ]


def _first_admin_form(db: Database) -> None:
    with st.form("forge_first_admin"):
        st.subheader("Create the admin account")
        st.caption(
            "Forge has no users yet. This one-time form creates the first admin; it is gone once the account exists."
        )
        name = st.text_input("Your name")
        username = st.text_input("User name", help="Letters, digits and . _ @ - (stored lower-case).")
        password = st.text_input("Password", type="password", help=f"At least {MIN_PASSWORD_LENGTH} characters.")
        confirm = st.text_input("Confirm password", type="password")
        submitted = st.form_submit_button("Create admin account", type="primary")
    if not submitted:
        return
    if password != confirm:
        st.error("The two passwords differ.")
        return
    try:
        user = auth.create_first_admin(db, username, password, name.strip() or None)
    except auth.AuthError as exc:
        st.error(str(exc))
        return
    st.session_state[keys.LOGIN_NOTICE] = f"Admin account '{user.username}' created. Log in with it."
    st.rerun()


def _login_form(authn: stauth.Authenticate) -> None:
    notice = st.session_state.pop(keys.LOGIN_NOTICE, None)
    if notice:
        st.info(notice)
    with st.form("forge_login"):
        st.subheader("Log in")
        username = st.text_input("User name", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return
    if not username.strip() or not password:
        st.error("Enter your user name and password.")
        return
    try:
        ok = authn.authentication_controller.login(username, password)
    except LoginError as exc:
        st.error(str(exc))
        return
    if ok:
        st.session_state[keys.SESSION_GENERATION] = authn.forge_generation
        st.session_state.pop(keys.DELETE_COOKIE, None)
        st.session_state[keys.SET_COOKIE] = True
        st.rerun()
    st.error(authn.forge_error or "Wrong user name or password.")


def sidebar(db: Database, user: auth.User) -> None:
    """Workspace picker, who is logged in, logout."""
    spaces = auth.workspaces_for(db, user)
    with st.sidebar:
        if spaces:
            by_name = {ws.name: ws for ws in spaces}
            if st.session_state.get(keys.WORKSPACE_PICK) not in by_name:
                current = state.current_workspace(db, user)
                st.session_state[keys.WORKSPACE_PICK] = current.name if current else spaces[0].name
            picked = st.selectbox("Workspace", list(by_name), key=keys.WORKSPACE_PICK)
            st.session_state[keys.WORKSPACE_ID] = by_name[picked].id
        else:
            st.caption("No workspace yet: ask an admin to add you to one.")
        # Name, then the role once; the user name only when it adds something (and not the role's word).
        name = user.name or user.username
        extra = f" ({md(user.username)})" if user.username not in (name.lower(), user.role) else ""
        st.caption(f"Logged in as **{md(name)}**{extra} · role: {user.role}")
        st.button("Log out", key="forge_logout_button", on_click=_request_logout, icon=":material/logout:")


def _request_logout() -> None:
    st.session_state[keys.LOGOUT_REQUESTED] = True
