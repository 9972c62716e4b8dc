"""AppTest fixtures: ``app_as(username, page)`` gives a logged-in AppTest of app.py.

The app and the test share one database file: tests/conftest.py sets FORGE_DB per
test, the ``db`` fixture opens it, and ``forge.ui.state.get_db()`` opens the same
path (DuckDB shares one instance per file inside a process, so both see the same
data). ``st.cache_resource`` is cleared around every test so no Database of an
earlier test's file survives.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def new_app() -> AppTest:
    """A not-yet-run AppTest of app.py."""
    return AppTest.from_file(APP, default_timeout=30)


def log_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    """Fill and submit the login form of an AppTest that shows it."""
    inputs = {ti.label: ti for ti in at.text_input}
    inputs["User name"].input(username)
    inputs["Password"].input(password)
    next(b for b in at.button if b.label == "Log in").click()
    return at.run()


@pytest.fixture
def app_as(db):
    """``app_as("ana", page="pages/traces.py")``: a logged-in AppTest, on ``page`` if given.

    The user must exist (use the ``admin`` / ``analyst`` / ``outsider`` fixtures);
    "admin" is created with PASSWORD when the database has no users yet.
    """
    from forge import auth

    def make(username: str = "admin", page: str | None = None, password: str = PASSWORD) -> AppTest:
        if username == "admin" and not auth.has_users(db):
            auth.create_first_admin(db, "admin", PASSWORD, "Ada Admin")
        at = new_app().run()
        assert not at.exception, at.exception
        log_in(at, username, password)
        assert not at.exception, at.exception
        assert at.session_state["authentication_status"], [e.value for e in at.error]
        # Under AppTest the run right after login gives app.py's widgets other ids than
        # later runs (AppTest re-enters Streamlit's pages-folder mode each run); one more
        # run settles them so a test's first widget interaction is not lost.
        at.run()
        if page:
            at.switch_page(page)
            at.run()
            assert not at.exception, at.exception
        return at

    return make
