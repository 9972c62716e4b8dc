"""Shared pieces of the browser tests: start the app as `make run` does, drive Streamlit pages, take screenshots."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Pictures go into the checkout only on request (`make screenshots`), so a test run leaves it clean.
UPDATE_SCREENSHOTS = os.environ.get("FORGE_UPDATE_SCREENSHOTS") == "1"
SCREENSHOTS = ROOT / "docs" / "screenshots"
MAX_SHOT_HEIGHT = 3200
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER = [sys.executable, "-m", "forge.ui.server"]  # what `make run` starts
NEEDS_CHROMIUM = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(
    db_path: Path, log_path: Path, env: dict[str, str] | None = None, launcher: list[str] | None = None
) -> Iterator[str]:
    """``launcher`` (default ``python -m forge.ui.server``, what `make run` starts) on a free port; yields its URL."""
    port = free_port()
    full_env = {**os.environ, "FORGE_DB": str(db_path), **(env or {})}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            (launcher or SERVER)
            + ["--server.port", str(port)]
            + ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
            + ["--server.fileWatcherType", "none"],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail("the server did not start: " + log_path.read_text()[-2000:])
                    time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@contextlib.contextmanager
def chromium() -> Iterator:
    """Debian's chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright  # a requirement: missing means a broken venv

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, width: int = 1400, height: int = 1000):
    page = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True).new_page()
    page.set_default_timeout(60_000)  # a 2-core CI machine under load
    return page


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished the current run (its running indicator is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout, polling=100
    )


def settle(page) -> None:
    """After a page load: streamlit-authenticator's cookie component mounts and reruns the script once."""
    with contextlib.suppress(Exception):  # not rendered on this page: nothing to wait for
        page.wait_for_selector('iframe[title*="cookie_manager"]', state="attached", timeout=10_000)
    page.wait_for_timeout(500)
    wait_idle(page)


def fill(page, label: str, value: str, scope=None) -> None:
    """Type into the text box labelled ``label`` and leave it (Streamlit applies a value on blur)."""
    field = (scope or page).get_by_label(label, exact=True)
    field.fill(value)
    field.press("Tab")


def blur(page) -> None:
    """Leave the focused widget (a multiselect keeps its list open until then)."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")


def download(page, button: str) -> Path:
    """Click a download button and return the file. The file is made on the click (a deferred download);
    once in a few runs under load Streamlit never answered that click, so a second click is allowed, as a
    user would make."""
    for attempt in (1, 2):
        try:
            with page.expect_download(timeout=45_000) as download:
                page.get_by_role("button", name=button).click()
            return Path(download.value.path())
        except Exception:  # noqa: BLE001 - no file after 45 s: click once more
            if attempt == 2:
                raise
            wait_idle(page)
    raise AssertionError("unreachable")


def grid_text(page, scope) -> str:
    """The text of a table (st.dataframe) as its accessible grid exposes it (filled just after drawing):
    the columns in view."""
    scope.locator('[role="gridcell"]').first.wait_for(state="attached")
    return " | ".join(scope.locator('[role="gridcell"], [role="columnheader"]').all_inner_texts())


def metric(page, label: str, scope=None) -> str:
    box = (scope or page).locator('[data-testid="stMetric"]', has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def no_exception(page) -> None:
    """No traceback and no "Page not found" anywhere on the page."""
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]'
    ).first.inner_text()
    assert page.get_by_text("Page not found").count() == 0


def log_in(page, username: str, password: str) -> None:
    """Submit the login form shown on the page and wait for the signed cookie."""
    page.get_by_role("heading", name="Log in").wait_for()
    wait_idle(page)
    fill(page, "User name", username)
    fill(page, "Password", password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()
    wait_login_cookie(page)
    wait_idle(page)


def login_cookie(page) -> dict | None:
    """The browser's login cookie (HttpOnly: the page's own scripts cannot see it), or None."""
    return next((c for c in page.context.cookies() if c["name"] == "forge_auth"), None)


def wait_login_cookie(page, timeout: float = 30.0) -> dict:
    """Wait until the server has set the login cookie (a script posts for it just after the login)."""
    deadline = time.monotonic() + timeout
    while (cookie := login_cookie(page)) is None:
        assert time.monotonic() < deadline, "no login cookie was set"
        page.wait_for_timeout(100)
    return cookie


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Log in").wait_for()
    wait_idle(page)


def open_page(page, title: str, heading: str | None = None) -> None:
    """Follow the sidebar menu's link ``title`` and wait for the page's title ``heading``.

    The menu shows every page (in sections, never folded behind Streamlit's "View N more")."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_role("link").first.wait_for()
    assert nav.get_by_text(re.compile(r"^View \d+ more$")).count() == 0, "the menu hides pages"
    nav.get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=heading or title, exact=True).wait_for()
    wait_idle(page)


def choose(page, box, option: str | re.Pattern, typed: str | None = None) -> None:
    """Open the select or multiselect ``box``, type ``typed`` to filter its (long) list, click ``option``.

    Tried again when the list closed first (a rerun that was still under way redraws the widget)."""
    wanted = page.get_by_role("option", name=option, exact=isinstance(option, str)).first
    for attempt in range(3):
        wait_idle(page)
        box.locator('[role="combobox"], input').first.click()
        if typed:
            page.keyboard.type(typed)
        try:
            wanted.click(timeout=10_000)
            break
        except Exception:  # noqa: BLE001 - the list was closed by a rerun: open it again
            page.keyboard.press("Escape")
            if attempt == 2:
                raise
    wait_idle(page)


def pick(page, label: str, option: str | re.Pattern, scope=None, typed: str | None = None) -> None:
    """Choose ``option`` in the selectbox labelled ``label``."""
    box = (scope or page).locator('[data-testid="stSelectbox"]', has=page.get_by_text(label, exact=True)).first
    choose(page, box, option, typed)


def playground_models(page, models: list[str]) -> str:
    """On the Playground: replace the default model (offline/echo) by ``models``; returns the chips' text."""
    box = page.locator('[data-testid="stMain"] [data-testid="stMultiSelect"]').first
    box.locator("input").click()
    page.keyboard.press("Backspace")  # drop the default offline/echo
    page.keyboard.press("Escape")
    for model in models:
        # A slash in a pattern must be escaped for Playwright (it becomes a JavaScript /regex/).
        choose(page, box, re.compile(re.escape(f"({model})").replace("/", r"\/")), typed=model)
    blur(page)
    wait_idle(page)
    return box.inner_text()


class Screenshots:
    """Full-page screenshots with stable names: into docs/screenshots/ on request, else a temporary folder."""

    def __init__(self, tmp_path: Path):
        self.folder = SCREENSHOTS if UPDATE_SCREENSHOTS else tmp_path / "screenshots"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[str] = []

    def take(self, page, name: str, full: bool = True) -> Path:
        """``name``.png of the whole page (``full``), or of the window as it is scrolled now."""
        wait_idle(page)
        path = self.folder / f"{name}.png"
        if not full:
            page.screenshot(path=str(path))
            return self._taken(path, name)
        # Streamlit scrolls inside its main container, so the page itself is one window high: grow the
        # window to the content's height for the picture (capped, to keep the files small), then restore.
        size = page.viewport_size
        height = page.evaluate(
            """() => Math.max(...[...document.querySelectorAll(
                '[data-testid="stMain"], [data-testid="stAppViewContainer"], [data-testid="stSidebarContent"]')]
                .map(e => e.scrollHeight), window.innerHeight)"""
        )
        page.set_viewport_size({"width": size["width"], "height": min(int(height), MAX_SHOT_HEIGHT)})
        page.wait_for_timeout(400)  # the layout follows the new height
        page.screenshot(path=str(path), full_page=True)
        page.set_viewport_size(size)
        return self._taken(path, name)

    def _taken(self, path: Path, name: str) -> Path:
        assert path.stat().st_size > 10_000, f"{name}.png looks empty"
        self.taken.append(name)
        return path


def review_shown(page) -> str:
    """The id of the trace the review page shows (the end of its caption)."""
    caption = page.locator('[data-testid="stCaptionContainer"]', has_text=" · id ").first
    return caption.inner_text().rsplit("id ", 1)[-1].strip()


def review_key(page, key: str, leaving: str | None = None) -> None:
    """Press a key with no widget focused; wait for the rerun (and for the next trace when one is due)."""
    page.keyboard.press(key)
    wait_idle(page)
    if leaving is not None:
        page.wait_for_function(
            "old => { const c = [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
            ".find(e => e.innerText.includes(' · id ')); return c && !c.innerText.endsWith(old); }",
            arg=leaving,
        )
        wait_idle(page)
        # Nothing left over from the previous trace: the Output panel read next is this trace's.
        page.wait_for_function('() => !document.querySelector(\'[data-testid="stMain"] [data-stale="true"]\')')
