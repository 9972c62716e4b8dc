"""The whole first-day journey in a real browser (Playwright + Debian chromium).

Starts ``python -m forge.ui.server`` (the app, as ``make run`` does) on a free 127.0.0.1 port with a fresh database,
then: first-run admin form -> log in -> load demo data -> counts on home ->
Traces -> cookie keeps the login across a reload -> log out (cookie gone).
A second user who is in no workspace of the admin's sees none of the data.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.browser import Screenshots

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ADMIN_PASSWORD = "trailhead-admin-2026"
OTTO_PASSWORD = "otto-outsider-2026"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """A running app on a fresh database; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "FORGE_DB": str(tmp_path / "e2e.duckdb"), "FORGE_COOKIE_KEY": "e2e-cookie-key-" + "z" * 32}
    log = open(tmp_path / "streamlit.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "forge.ui.server",  # the app and the API on one port, as `make run` starts it
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + (tmp_path / "streamlit.log").read_text()[-2000:])
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright  # a requirement: missing means a broken venv

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


def _wait_idle(page):
    """Wait until Streamlit has finished the current run."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)


def _settle(page):
    """After a page load: streamlit-authenticator's cookie component mounts (~1 s later)
    and reports the cookies, which reruns the script once; wait for that rerun."""
    try:
        page.wait_for_selector('iframe[title*="cookie_manager"]', state="attached", timeout=10_000)
    except Exception:  # noqa: BLE001 - not rendered on this page; nothing to wait for
        pass
    page.wait_for_timeout(500)
    _wait_idle(page)


def _fill(page, label: str, value: str):
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Tab")


def _log_in(page, username: str, password: str):
    page.get_by_role("heading", name="Log in").wait_for()
    _fill(page, "User name", username)
    _fill(page, "Password", password)
    page.get_by_role("button", name="Log in").click()
    _wait_idle(page)
    if page.get_by_role("button", name="Log out").count():
        # The auth cookie is written by a browser component just after login.
        page.wait_for_function("() => document.cookie.includes('forge_auth=')")


def _metric(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]', has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def _log_out(page):
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Log in").wait_for()
    _wait_idle(page)


def _no_exception(page):
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Page not found").count() == 0


def test_first_day_journey(server, browser, tmp_path):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(30_000)
    page.goto(server)
    _settle(page)

    # First start: only the one-time admin form.
    page.get_by_role("heading", name="Create the admin account").wait_for()
    _fill(page, "Your name", "Ada Admin")
    _fill(page, "User name", "ada")
    _fill(page, "Password", ADMIN_PASSWORD)
    _fill(page, "Confirm password", ADMIN_PASSWORD)
    page.get_by_role("button", name="Create admin account").click()
    page.get_by_text("Admin account 'ada' created").wait_for()
    assert page.get_by_role("heading", name="Create the admin account").count() == 0

    _log_in(page, "ada", ADMIN_PASSWORD)
    page.get_by_role("heading", name="Workspace · default").wait_for()
    assert _metric(page, "Traces") == "0"

    page.get_by_role("button", name="Load demo data").click()
    page.get_by_text("Demo data loaded: 72 new").wait_for()
    _wait_idle(page)
    assert _metric(page, "Traces") == "72"
    # Pass / fail are counted per eval set, in its table (never summed across sets).
    page.get_by_text("Grounded answers").first.wait_for(state="attached")
    _no_exception(page)
    Screenshots(tmp_path).take(page, "home")  # docs/screenshots/home.png with FORGE_UPDATE_SCREENSHOTS=1

    if (ROOT / "pages" / "traces.py").exists():
        page.get_by_role("link", name="Traces").click()
        page.wait_for_url(re.compile(r".*/browse-traces"))
        _wait_idle(page)
        _no_exception(page)
        page.get_by_role("link", name="Home").click()
        page.get_by_role("heading", name="Workspace · default").wait_for()

    # The signed cookie keeps the login across a reload.
    page.reload()
    page.get_by_role("heading", name="Workspace · default").wait_for()
    _settle(page)

    # A second user, in no workspace of the admin's, added on the admin page.
    _wait_idle(page)
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("heading", name="Admin").wait_for()
    _wait_idle(page)
    _fill(page, "User name", "otto")
    _fill(page, "Full name", "Otto Outsider")
    _fill(page, "Initial password", OTTO_PASSWORD)
    page.get_by_role("button", name="Add user").click()
    page.get_by_text("User 'otto' added as analyst.").wait_for()
    page.locator('[data-testid="stRadio"]').get_by_text("Workspaces", exact=True).click()  # the admin's sections
    _wait_idle(page)
    _fill(page, "Name", "Research")
    page.get_by_role("button", name="Create workspace").click()
    page.get_by_text("Workspace 'Research' created").wait_for()

    _log_out(page)
    page.reload()  # the cookie is gone: still logged out after a reload
    page.get_by_role("heading", name="Log in").wait_for()
    _settle(page)
    assert page.get_by_role("button", name="Log out").count() == 0
    # A bookmarked page shows the login form, not "page not found".
    page.goto(f"{server}/browse-traces")
    page.get_by_role("heading", name="Log in").wait_for()
    _settle(page)
    _no_exception(page)

    _log_in(page, "otto", OTTO_PASSWORD)
    page.get_by_text("ask an admin to add you to a workspace").wait_for()
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.get_by_text("72").count() == 0
    for path in ("browse-traces", ""):
        page.goto(f"{server}/{path}")
        page.get_by_text("ask an admin to add you to a workspace").wait_for()
        _settle(page)
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
    _wait_idle(page)
    assert _metric(page, "Traces") == "0"
    _no_exception(page)
