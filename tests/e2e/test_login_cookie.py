"""The login cookie in a real browser: HttpOnly, and dead after a logout or a password reset.

A copy of the cookie (taken as an attacker with access to the browser's cookie jar would) is put
into a fresh browser; it must log in before, and must not after the user logged out or an admin
reset the password.
"""

from __future__ import annotations

import pytest

from tests.e2e.browser import NEEDS_CHROMIUM, fill, log_in, log_out, new_page, open_page, pick, wait_idle
from tests.e2e.conftest import ADMIN_PASSWORD, VIEWER_PASSWORD

pytestmark = [pytest.mark.e2e, NEEDS_CHROMIUM]


def _with_cookie(browser, url: str, cookie: dict):
    """A fresh browser context holding only ``cookie``, opened on the app."""
    page = new_page(browser)
    page.context.add_cookies([cookie])
    page.goto(url)
    return page


def _logged_in(page) -> bool:
    """Whether the app greets this browser as logged in (else it shows the login form)."""
    done = page.get_by_role("button", name="Log out").or_(page.get_by_role("heading", name="Log in"))
    done.first.wait_for()
    wait_idle(page)
    return page.get_by_role("button", name="Log out").count() > 0


def test_a_copied_cookie_is_httponly_and_stops_working_after_logout_and_after_a_reset(filled_server, browser):
    vic = new_page(browser)
    vic.goto(filled_server)
    log_in(vic, "vic", VIEWER_PASSWORD)
    cookie = next(c for c in vic.context.cookies() if c["name"] == "forge_auth")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert "forge_auth" not in vic.evaluate("document.cookie")  # no script in the page can read it

    copy = _with_cookie(browser, filled_server, cookie)
    assert _logged_in(copy)  # the copy works while the session lives
    copy.context.close()

    log_out(vic)
    assert not any(c["name"] == "forge_auth" for c in vic.context.cookies())  # deleted in this browser
    after_logout = _with_cookie(browser, filled_server, cookie)
    assert not _logged_in(after_logout)  # and the copy is dead
    after_logout.context.close()

    # Log in again, copy the new cookie, then an admin resets vic's password.
    log_in(vic, "vic", VIEWER_PASSWORD)
    second = next(c for c in vic.context.cookies() if c["name"] == "forge_auth")
    assert second["value"] != cookie["value"]
    admin = new_page(browser)
    admin.goto(filled_server)
    log_in(admin, "admin", ADMIN_PASSWORD)
    open_page(admin, "Admin")
    pick(admin, "User", "vic", scope=admin.locator('[data-testid="stForm"]', has_text="Reset a password"))
    fill(admin, "New password", "vic's brand new passphrase")
    admin.get_by_role("button", name="Reset password").click()
    admin.get_by_text("Password of 'vic' reset.").wait_for()

    after_reset = _with_cookie(browser, filled_server, second)
    assert not _logged_in(after_reset)
    # vic's open session is ended too, on its next run.
    vic.reload()
    assert not _logged_in(vic)
