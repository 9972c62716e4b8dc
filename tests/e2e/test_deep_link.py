"""A direct link to a page on a freshly started server: no "Page not found" modal (Streamlit's pages-folder mode)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.e2e.test_journey import CHROMIUM, ROOT, _free_port, _wait_idle, browser  # noqa: F401

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)"),
]

SERVE = [sys.executable, "-m", "forge.ui.server"]  # what `make run` starts
PLAIN = [sys.executable, "-m", "streamlit", "run", "app.py"]  # Streamlit's own launcher, for comparison


def _start(tmp_path, launcher: list[str]):
    from forge import auth
    from forge.store import Database

    db_path = tmp_path / "deep.duckdb"
    db = Database(str(db_path))
    auth.create_first_admin(db, "admin", "deep-link-admin-2026", "Ada")
    db.close()
    port = _free_port()
    env = {**os.environ, "FORGE_DB": str(db_path), "FORGE_COOKIE_KEY": "deep-link-cookie-key-" + "q" * 32}
    log = open(tmp_path / "streamlit.log", "w")
    proc = subprocess.Popen(
        launcher
        + ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]
        + ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
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
                    return proc, url, log
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail("streamlit did not start: " + (tmp_path / "streamlit.log").read_text()[-2000:])


def _first_visit_shows_not_found(browser, url: str) -> bool:  # noqa: F811
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{url}/browse-traces")
    page.get_by_role("heading", name="Log in").wait_for()
    _wait_idle(page)
    page.wait_for_timeout(1000)
    return page.get_by_text("Page not found").count() > 0


@pytest.mark.parametrize("launcher", [SERVE, PLAIN], ids=["forge.ui.server", "streamlit run"])
def test_direct_link_on_a_fresh_server(tmp_path, browser, launcher):  # noqa: F811
    proc, url, log = _start(tmp_path, launcher)
    try:
        shown = _first_visit_shows_not_found(browser, url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    if launcher is SERVE:
        assert not shown, "the first direct link shows Streamlit's 'Page not found'"
    else:  # why forge.ui.server turns the pages folder off (if this fails, Streamlit fixed it)
        assert shown
