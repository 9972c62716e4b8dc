"""The whole first-day journey in a real browser (Playwright + Debian chromium).

Starts ``python -m forge.ui.server`` (the app, as ``make run`` does) on a free 127.0.0.1 port with a fresh database,
then: first-run admin form -> log in -> load demo data -> counts on home ->
Traces -> cookie keeps the login across a reload -> log out (cookie gone).
A second user who is in no workspace of the admin's sees none of the data.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import NEEDS_CHROMIUM, Screenshots, fill, metric, new_page, open_page, serve, settle, wait_idle
from tests.e2e.browser import log_in as _log_in
from tests.e2e.browser import log_out as _log_out
from tests.e2e.browser import no_exception as _no_exception

ADMIN_PASSWORD = "trailhead-admin-2026"
OTTO_PASSWORD = "otto-outsider-2026"

pytestmark = [pytest.mark.e2e, NEEDS_CHROMIUM]


@pytest.fixture
def server(tmp_path):
    """A running app on a fresh database; yields its base URL."""
    with serve(tmp_path / "e2e.duckdb", tmp_path / "streamlit.log") as url:
        yield url


def test_first_day_journey(server, browser, tmp_path):
    page = new_page(browser)
    page.goto(server)
    settle(page)

    # First start: only the one-time admin form.
    page.get_by_role("heading", name="Create the admin account").wait_for()
    fill(page, "Your name", "Ada Admin")
    fill(page, "User name", "ada")
    fill(page, "Password", ADMIN_PASSWORD)
    fill(page, "Confirm password", ADMIN_PASSWORD)
    page.get_by_role("button", name="Create admin account").click()
    page.get_by_text("Admin account 'ada' created").wait_for()
    assert page.get_by_role("heading", name="Create the admin account").count() == 0

    _log_in(page, "ada", ADMIN_PASSWORD)
    page.get_by_role("heading", name="Workspace · default").wait_for()
    assert metric(page, "Traces") == "0"

    page.get_by_role("button", name="Load demo data").click()
    page.get_by_text("Demo data loaded: 72 new").wait_for()
    wait_idle(page)
    assert metric(page, "Traces") == "72"
    # Pass / fail are counted per eval set, in its table (never summed across sets).
    page.get_by_text("Grounded answers").first.wait_for(state="attached")
    _no_exception(page)
    Screenshots(tmp_path).take(page, "home")  # docs/screenshots/home.png with FORGE_UPDATE_SCREENSHOTS=1

    page.get_by_role("link", name="Traces").click()
    page.wait_for_url(re.compile(r".*/browse-traces"))
    wait_idle(page)
    _no_exception(page)
    page.get_by_role("link", name="Home").click()
    page.get_by_role("heading", name="Workspace · default").wait_for()

    # The signed cookie keeps the login across a reload.
    page.reload()
    page.get_by_role("heading", name="Workspace · default").wait_for()
    settle(page)

    # A second user, in no workspace of the admin's, added on the admin page.
    wait_idle(page)
    open_page(page, "Admin")  # past the menu's first ten pages: behind "View N more"
    fill(page, "User name", "otto")
    fill(page, "Full name", "Otto Outsider")
    fill(page, "Initial password", OTTO_PASSWORD)
    page.get_by_role("button", name="Add user").click()
    page.get_by_text("User 'otto' added as analyst.").wait_for()
    page.locator('[data-testid="stRadio"]').get_by_text("Workspaces", exact=True).click()  # the admin's sections
    wait_idle(page)
    fill(page, "Name", "Research")
    page.get_by_role("button", name="Create workspace").click()
    page.get_by_text("Workspace 'Research' created").wait_for()

    _log_out(page)
    page.reload()  # the cookie is gone: still logged out after a reload
    page.get_by_role("heading", name="Log in").wait_for()
    settle(page)
    assert page.get_by_role("button", name="Log out").count() == 0
    # A bookmarked page shows the login form, not "page not found".
    page.goto(f"{server}/browse-traces")
    page.get_by_role("heading", name="Log in").wait_for()
    settle(page)
    _no_exception(page)

    _log_in(page, "otto", OTTO_PASSWORD)
    page.get_by_text("ask an admin to add you to a workspace").wait_for()
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.get_by_text("72").count() == 0
    for path in ("browse-traces", ""):
        page.goto(f"{server}/{path}")
        page.get_by_text("ask an admin to add you to a workspace").wait_for()
        settle(page)
        assert page.locator('[data-testid="stDataFrame"]').count() == 0
        assert page.get_by_text("Grounded answers").count() == 0
        _no_exception(page)

    # Back as the admin: the very first action after a form login (switching workspace) counts.
    _log_out(page)
    _log_in(page, "ada", ADMIN_PASSWORD)
    page.get_by_role("heading", name="Workspace · default").wait_for()  # first by name, any case
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').click()
    page.get_by_role("option", name="Research").click()
    page.get_by_role("heading", name="Workspace · Research").wait_for()
    wait_idle(page)
    assert metric(page, "Traces") == "0"
    _no_exception(page)
