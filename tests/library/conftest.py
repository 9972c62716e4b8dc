"""Library fixtures: an analyst's Access to the default workspace, a viewer's."""

from __future__ import annotations

import pytest

from forge import auth


@pytest.fixture
def acc(db, admin, default_ws, analyst):
    return auth.access(db, analyst, default_ws.id, "edit")


@pytest.fixture
def viewer_acc(db, admin, default_ws):
    user = auth.create_user(db, admin, "vera", "correct horse battery staple", "viewer", "Vera Viewer")
    auth.add_member(db, admin, default_ws.id, "vera")
    return auth.access(db, user, default_ws.id, "read")
