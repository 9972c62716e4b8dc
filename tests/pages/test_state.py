"""guard(): the check at the top of every page (login, workspace, role)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from forge import auth
from tests.conftest import PASSWORD
from tests.pages.conftest import ROOT


@pytest.fixture
def viewer(db, admin, default_ws):
    user = auth.create_user(db, admin, "vera", PASSWORD, "viewer", "Vera Viewer")
    auth.add_member(db, admin, default_ws.id, "vera")
    return user


def _nav_titles(at) -> list[str]:
    return [info.get("page_name") for info in at._registered_pages.values()]


def test_viewer_menu_has_no_pages_that_change_data(app_as, viewer):
    at = app_as("vera")
    titles = _nav_titles(at)
    assert "Traces" in titles and "Runs" in titles
    assert "Playground" not in titles and "Import" not in titles
    with pytest.raises(ValueError):
        at.switch_page("pages/import.py")  # not registered for a viewer at all


def test_analyst_menu_has_playground_and_import(app_as, analyst):
    titles = _nav_titles(app_as("ana"))
    assert {"Playground", "Import", "Traces"} <= set(titles) and "Admin" not in titles


@pytest.mark.parametrize(
    "page, what", [("pages/import.py", "import traces"), ("pages/playground.py", "run prompts or evals")]
)
def test_viewer_is_stopped_on_pages_that_change_data(app_as, viewer, page, what):
    """Run on its own (Streamlit's folder mode can), the page itself still refuses a viewer."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=30)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "vera"
    at.run()
    assert not at.exception
    messages = [w.value for w in at.warning]
    assert any("viewer" in m and f"cannot {what}" in m for m in messages), messages
    assert not at.file_uploader and not at.text_area  # nothing to act with


def test_role_change_takes_effect_on_the_next_run(db, app_as, admin, analyst):
    at = app_as("ana", page="pages/import.py")
    assert not any("cannot import" in w.value for w in at.warning)
    assert at.file_uploader
    auth.set_role(db, admin, "ana", "viewer")
    at.run()
    assert not at.exception
    assert "Import" not in _nav_titles(at) and not at.file_uploader
