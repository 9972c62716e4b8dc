"""In chromium: make an API token on Settings, call the API on the app's own port with it, revoke it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.e2e.browser import NEEDS_CHROMIUM
from tests.e2e.browser import wait_idle as _wait_idle
from tests.e2e.conftest import ADMIN_PASSWORD
from tests.e2e.test_layout import _log_in, _page

pytestmark = [pytest.mark.e2e, NEEDS_CHROMIUM]


def _get(url: str, token: str) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_token_from_settings_calls_the_api_then_revoked(filled_server, browser):
    page = _page(browser)
    _log_in(page, filled_server, "admin", ADMIN_PASSWORD, "workspace-settings")
    page.get_by_role("heading", name="API tokens").wait_for()
    page.get_by_text("You have no API tokens yet").wait_for()
    page.get_by_label("Token name").fill("e2e script")
    page.get_by_role("button", name="Create token").click()
    page.get_by_text("Copy it now: it is not shown again").wait_for()
    _wait_idle(page)
    token = next(t.strip() for t in page.locator("pre code").all_inner_texts() if t.strip().startswith("forge_"))

    status, me = _get(f"{filled_server}/api/v1/me", token)
    assert status == 200 and me["username"] == "admin"
    status, body = _get(f"{filled_server}/api/v1/traces?limit=5", token)
    assert status == 200 and body["total"] >= 72 and len(body["traces"]) == 5
    assert _get(f"{filled_server}/api/v1/me", token[:-2])[0] == 401

    # The list shows it by name (used just now); revoking it ends it at once.
    page.reload()
    page.get_by_role("heading", name="API tokens").wait_for()
    _wait_idle(page)
    assert page.locator("pre code", has_text=token).count() == 0  # shown once
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text("Token 'e2e script' revoked").wait_for()
    assert _get(f"{filled_server}/api/v1/me", token)[0] == 401
