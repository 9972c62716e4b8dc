"""guard(): the check at the top of every page (login, workspace, role)."""

from __future__ import annotations

import pytest

from forge import auth
from tests.conftest import PASSWORD


@pytest.fixture
def viewer(db, admin, default_ws):
    user = auth.create_user(db, admin, "vera", PASSWORD, "viewer", "Vera Viewer")
    auth.add_member(db, admin, default_ws.id, "vera")
    return user


@pytest.mark.parametrize(
    "page, what", [("pages/import.py", "import traces"), ("pages/playground.py", "run prompts or evals")]
)
def test_viewer_is_stopped_on_pages_that_change_data(app_as, viewer, page, what):
    at = app_as("vera", page=page)
    assert not at.exception
    messages = [w.value for w in at.warning]
    assert any("viewer" in m and f"cannot {what}" in m for m in messages), messages
    assert not at.file_uploader and not at.text_area  # nothing to act with


def test_role_change_takes_effect_on_the_next_run(db, app_as, admin, analyst):
    at = app_as("ana", page="pages/import.py")
    assert not any("cannot import" in w.value for w in at.warning)
    auth.set_role(db, admin, "ana", "viewer")
    at.run()
    assert any("cannot import traces" in w.value for w in at.warning)
