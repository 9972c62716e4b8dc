"""The login cookie as an HttpOnly cookie, set and deleted by a route of the Forge server.

A cookie written by page JavaScript (``document.cookie``) cannot be HttpOnly, so any script
that ever ran in the page could read and send away the 7-day login token. Here the signed
token never reaches the page: after a login, the script run puts it under a one-time ticket
(a random string, valid for a few minutes) and the page posts the ticket to
``/_forge/login-cookie``, whose answer sets the cookie with ``HttpOnly; SameSite=Strict`` (and
``Secure`` when the request came over HTTPS, directly or through a proxy that says so in
``X-Forwarded-Proto``). Streamlit reads it server side (``st.context.cookies``, from the
WebSocket's request, which a browser sends HttpOnly cookies with); streamlit-authenticator's
own cookie manager is not used to read or write it.

The routes exist only when the app is served by ``python -m forge.ui.server`` (``make run``),
which calls :func:`routes`; under a plain ``streamlit run app.py`` the page writes the cookie
itself as before (not HttpOnly; see forge.ui.browser). Both requests need the header
``X-Forge-Cookie: 1``, which a page of another site cannot send without a CORS preflight that
this server never grants, so no other site can set or delete the cookie.

No Streamlit import here: forge.ui.server loads this module when it builds the app.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime
from typing import Any

from forge.config import settings

SET_PATH = "/_forge/login-cookie"
DELETE_PATH = "/_forge/logout-cookie"
HEADER = "X-Forge-Cookie"
TICKET_HEADER = "X-Forge-Ticket"
_TICKET_SECONDS = 300.0

_lock = threading.Lock()
_tickets: dict[str, tuple[str, datetime, float]] = {}  # ticket -> (token, cookie expiry, ticket deadline)
_mounted = threading.Event()


def routes_mounted() -> bool:
    """True when this process serves the cookie routes (the Forge server), so the cookie can be HttpOnly."""
    return _mounted.is_set()


def issue(token: str, expires: datetime) -> str:
    """A one-time ticket the page exchanges for the cookie holding ``token`` until ``expires``."""
    ticket = secrets.token_urlsafe(24)
    now = time.monotonic()
    with _lock:
        for old in [t for t, (_, _, deadline) in _tickets.items() if deadline < now]:
            del _tickets[old]
        _tickets[ticket] = (token, expires, now + _TICKET_SECONDS)
    return ticket


def _redeem(ticket: str) -> tuple[str, datetime] | None:
    with _lock:
        found = _tickets.pop(ticket, None)
    if found is None or found[2] < time.monotonic():
        return None
    return found[0], found[1]


def is_https(scheme: str, headers: Any) -> bool:
    """Whether the browser reached us over HTTPS: the request's scheme, or a proxy's X-Forwarded-Proto."""
    forwarded = (headers.get("x-forwarded-proto") or "").split(",")[0].strip().lower()
    return scheme == "https" or forwarded == "https"


def _set_cookie(request: Any) -> Any:
    from starlette.responses import Response

    if request.headers.get(HEADER) != "1":
        return Response("missing header", status_code=403)
    found = _redeem(request.headers.get(TICKET_HEADER) or "")
    if found is None:
        return Response("unknown or used ticket", status_code=410)
    token, expires = found
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        settings().cookie_name,
        token,
        expires=expires,
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_https(request.url.scheme, request.headers),
    )
    return response


def _delete_cookie(request: Any) -> Any:
    from starlette.responses import Response

    if request.headers.get(HEADER) != "1":
        return Response("missing header", status_code=403)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(
        settings().cookie_name,
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_https(request.url.scheme, request.headers),
    )
    return response


def routes(serving: bool = True) -> list[Any]:
    """The cookie routes, for forge.ui.server: from now on (``serving``) the login cookie is HttpOnly."""
    from starlette.routing import Route

    if serving:
        _mounted.set()
    return [Route(SET_PATH, _set_cookie, methods=["POST"]), Route(DELETE_PATH, _delete_cookie, methods=["POST"])]
