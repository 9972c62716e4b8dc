"""Shared fixtures: a fresh database file per test, users, workspaces."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _find_shared_data() -> Path:
    """../shared/data beside the checkout (as CI lays it out); FORGE_SHARED_DATA overrides; a clone
    of a local checkout also finds it beside its origin."""
    candidates = [Path(os.environ["FORGE_SHARED_DATA"])] if os.environ.get("FORGE_SHARED_DATA") else []
    candidates.append(ROOT.parent / "shared" / "data")
    try:
        origin = subprocess.run(
            ["git", "-C", str(ROOT), "remote", "get-url", "origin"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:  # no git: only the two places above
        origin = ""
    if origin and Path(origin).is_dir():
        candidates.append(Path(origin).resolve().parent / "shared" / "data")
    return next((c for c in candidates if c.is_dir()), candidates[0])


SHARED_DATA = _find_shared_data()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """Every test gets its own database and cookie key; no stray provider keys."""
    monkeypatch.setenv("FORGE_DB", str(tmp_path / "forge.duckdb"))
    monkeypatch.setenv("FORGE_COOKIE_KEY", "test-cookie-key-" + "x" * 32)
    monkeypatch.setenv("FORGE_SECRETS", str(tmp_path / "no-secrets.toml"))
    monkeypatch.setenv("FORGE_BCRYPT_ROUNDS", "4")  # real bcrypt, cheap cost factor
    for var in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "LANGFUSE_HOST",
        "LANGFUSE_BASE_URL",
        "LANGFUSE_PUBLIC_KEY",
        "LANGFUSE_SECRET_KEY",
        "FORGE_USER",
        "FORGE_PASSWORD",
        "FORGE_URL",  # a developer's own server must not receive the tests' commands
        "FORGE_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture
def db(tmp_path):
    from forge.store import connect

    database = connect(tmp_path / "forge.duckdb")
    yield database
    database.close()


PASSWORD = "correct horse battery staple"


@pytest.fixture
def admin(db):
    from forge import auth

    return auth.create_first_admin(db, "admin", PASSWORD, "Ada Admin")


@pytest.fixture
def default_ws(db, admin):
    from forge import auth

    return auth.resolve_workspace(db, admin)


@pytest.fixture
def analyst(db, admin, default_ws):
    """An analyst who is a member of the default workspace."""
    from forge import auth

    user = auth.create_user(db, admin, "ana", PASSWORD, "analyst", "Ana Lyst")
    auth.add_member(db, admin, default_ws.id, "ana")
    return user


@pytest.fixture
def outsider(db, admin):
    """An analyst who belongs to no workspace of the admin's."""
    from forge import auth

    user = auth.create_user(db, admin, "otto", PASSWORD, "analyst", "Otto Outsider")
    own = auth.create_workspace(db, admin, "otto-space")
    auth.add_member(db, admin, own.id, "otto")
    return user


@pytest.fixture
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"shared data not found at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture
def openai_stub(monkeypatch):
    """A local OpenAI-wire server; OPENAI_API_KEY/OPENAI_BASE_URL point the real SDK at it."""
    from tests.stubs.openai_stub import OpenAIStub

    with OpenAIStub(api_key="sk-test") as stub:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
        yield stub


@pytest.fixture
def anthropic_stub(monkeypatch):
    """A local Anthropic-wire server for the real SDK."""
    from tests.stubs.anthropic_stub import AnthropicStub

    with AnthropicStub(api_key="ak-test") as stub:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "ak-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.base_url)
        yield stub
