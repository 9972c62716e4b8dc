"""A direct link to a page on a freshly started server: no "Page not found" modal (Streamlit's pages-folder mode)."""

from __future__ import annotations

import sys

import pytest

from tests.e2e.browser import NEEDS_CHROMIUM, SERVER, new_page, serve, wait_idle

pytestmark = [pytest.mark.e2e, NEEDS_CHROMIUM]

SERVE = SERVER  # what `make run` starts
PLAIN = [sys.executable, "-m", "streamlit", "run", "app.py"]  # Streamlit's own launcher, for comparison


def _seed(tmp_path):
    from forge import auth
    from forge.store import Database

    db_path = tmp_path / "deep.duckdb"
    db = Database(str(db_path))
    auth.create_first_admin(db, "admin", "deep-link-admin-2026", "Ada")
    db.close()
    return db_path


def _first_visit_shows_not_found(browser, url: str) -> bool:
    page = new_page(browser, height=900)
    page.goto(f"{url}/browse-traces")
    page.get_by_role("heading", name="Log in").wait_for()
    wait_idle(page)
    page.wait_for_timeout(1000)
    return page.get_by_text("Page not found").count() > 0


@pytest.mark.parametrize("launcher", [SERVE, PLAIN], ids=["forge.ui.server", "streamlit run"])
def test_direct_link_on_a_fresh_server(tmp_path, browser, launcher):
    with serve(_seed(tmp_path), tmp_path / "streamlit.log", launcher=launcher) as url:
        shown = _first_visit_shows_not_found(browser, url)
    if launcher is SERVE:
        assert not shown, "the first direct link shows Streamlit's 'Page not found'"
    else:  # why forge.ui.server turns the pages folder off (if this fails, Streamlit fixed it)
        assert shown
