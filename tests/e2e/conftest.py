"""Fixtures of the browser tests: Debian's chromium (headless, one per test), and a running app with users and data."""

from __future__ import annotations

import pytest

from tests.e2e.browser import CHROMIUM, chromium, serve

ADMIN_PASSWORD = "layout-admin-2026"
VIEWER_PASSWORD = "layout-viewer-2026"


@pytest.fixture
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    with chromium() as b:
        yield b


@pytest.fixture
def filled_server(tmp_path):
    """A running app on a database with users and the demo data; yields its base URL."""
    from forge import auth, demo
    from forge.store import Database

    db_path = tmp_path / "layout.duckdb"
    db = Database(str(db_path))
    admin = auth.create_first_admin(db, "admin", ADMIN_PASSWORD, "New Comer")
    ws = auth.resolve_workspace(db, admin)
    auth.create_user(db, admin, "vic", VIEWER_PASSWORD, "viewer", "Vic Viewer")
    auth.add_member(db, admin, ws.id, "vic")
    demo.load_demo(db, admin, ws.id)
    from forge.llm.playground import run_prompt
    from forge.llm.prompts import PromptSpec

    run_prompt(auth.access(db, admin, ws.id), ["offline/echo", "nosuch/model"], PromptSpec("Describe the tent"))
    db.close()

    with serve(db_path, tmp_path / "streamlit.log") as url:
        yield url
