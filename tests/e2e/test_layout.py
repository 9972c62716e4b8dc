"""Layout a user sees at 1400x900 in chromium: login form, traces table, selection, menus.

The database is filled before the server starts (admin, a viewer, the demo data and a
LangGraph trace), so each check starts on a page with real content.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import NEEDS_CHROMIUM, wait_login_cookie
from tests.e2e.browser import wait_idle as _wait_idle
from tests.e2e.conftest import ADMIN_PASSWORD, VIEWER_PASSWORD

pytestmark = [pytest.mark.e2e, NEEDS_CHROMIUM]


def _page(browser):
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    return page


def _submit_login(page, username: str, password: str) -> None:
    page.get_by_role("heading", name="Log in").wait_for()
    _wait_idle(page)
    page.get_by_label("User name", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()
    _wait_idle(page)


def _log_in(page, url: str, username: str, password: str, path: str = "") -> None:
    """Log in on the start page (a deep link on a fresh server meets Streamlit's folder mode), then go."""
    page.goto(url)
    _submit_login(page, username, password)
    wait_login_cookie(page)  # kept across page loads
    if path:
        page.goto(f"{url}/{path}")
        logged_in = page.get_by_role("button", name="Log out")
        logged_in.or_(page.get_by_role("heading", name="Log in")).first.wait_for(timeout=60_000)
        if not logged_in.count():  # the cookie reached the server after the first run: log in here
            _submit_login(page, username, password)
        _wait_idle(page)


def test_login_form_has_no_grey_bar_above_it(filled_server, browser):
    page = _page(browser)
    page.goto(filled_server)
    page.get_by_role("heading", name="Log in").wait_for()
    page.wait_for_selector('iframe[title*="cookie_manager"]', state="attached")
    # Nothing drawn between the top of the page and the title: the cookie component takes no room.
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stMain"] .stElementContainer')]
            .map(e => e.getBoundingClientRect()).filter(r => r.height > 1 && r.width > 1)
            .map(r => [r.top, r.height])"""
    )
    title_top = page.get_by_role("heading", name="Forge").bounding_box()["y"]
    assert all(top >= title_top - 5 for top, _ in boxes), boxes
    cookie_heights = page.evaluate(
        """() => [...document.querySelectorAll('iframe[title*="cookie_manager"]')]
            .map(f => f.closest('.stElementContainer').getBoundingClientRect().height)"""
    )
    assert cookie_heights and max(cookie_heights) <= 1, cookie_heights


def test_traces_table_fits_the_window_and_its_page(filled_server, browser):
    from forge.ui.trace_view import TABLE_COLUMNS, table_height

    page = _page(browser)
    _log_in(page, filled_server, "admin", ADMIN_PASSWORD, "browse-traces")
    page.get_by_role("heading", name="Traces", exact=True).wait_for()
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for()
    box = table.bounding_box()
    scanned = ["Time", "Name", "Input", "Output", "Latency", "Cost", "Rating", "Errors"]
    needed = sum(TABLE_COLUMNS[c]["width"] for c in scanned) + 40  # + the row-selection column
    assert box["width"] >= needed, (box["width"], needed)  # no sideways scroll for these eight
    assert box["x"] + box["width"] <= 1400
    # The page's 50 rows are all laid out: no small scroll box inside the page.
    assert box["height"] >= table_height(50) - 4, box


def test_runs_table_shows_every_column_with_errors_at_1400(filled_server, browser):
    from forge.ui.runs_view import RUN_COLUMNS

    page = _page(browser)
    _log_in(page, filled_server, "admin", ADMIN_PASSWORD, "run-history")
    page.get_by_role("heading", name="Runs", exact=True).wait_for()
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for()
    box = table.bounding_box()
    assert box["width"] >= sum(c["width"] for c in RUN_COLUMNS.values()), box


def test_selecting_a_row_opens_the_trace_at_its_own_address_and_a_search_closes_it(filled_server, browser):
    page = _page(browser)
    _log_in(page, filled_server, "admin", ADMIN_PASSWORD, "browse-traces")
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for()
    _wait_idle(page)
    box = table.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's tick box
    page.wait_for_url(re.compile(r".*[?&]trace=\w+"))
    _wait_idle(page)
    trace_id = re.search(r"trace=(\w+)", page.url).group(1)
    page.get_by_text(f"id {trace_id}").wait_for()

    # The address alone opens the same trace (a link shared in a review meeting).
    other = _page(browser)
    _log_in(other, filled_server, "admin", ADMIN_PASSWORD, f"browse-traces?trace={trace_id}")
    other.get_by_text(f"id {trace_id}").wait_for()

    # A new search: no trace open, and the address no longer names one.
    search = page.get_by_label("Search traces", exact=True)
    search.fill("refund")
    search.press("Enter")
    _wait_idle(page)
    page.wait_for_function("() => !location.search.includes('trace=')")
    _wait_idle(page)
    page.wait_for_timeout(500)
    assert page.get_by_text(f"id {trace_id}").count() == 0


def test_viewer_menu_and_sidebar(filled_server, browser):
    page = _page(browser)
    _log_in(page, filled_server, "vic", VIEWER_PASSWORD)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_role("link", name="Traces").wait_for()
    links = nav.get_by_role("link").all_inner_texts()
    assert not [t for t in links if "Playground" in t or "Import" in t], links
    caption = page.locator('[data-testid="stSidebar"]').get_by_text("Logged in as").inner_text()
    assert caption.count("viewer") == 1, caption
