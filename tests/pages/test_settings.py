"""The settings page: Langfuse status, how to configure it, a connection test; never the keys."""

from __future__ import annotations

import itertools

import pytest

from tests.stubs.langfuse_stub import LangfuseStub

_keys = itertools.count()


def test_missing_configuration_is_explained(app_as):
    at = app_as("admin", page="pages/settings.py")
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "LANGFUSE_HOST" in warning and "LANGFUSE_SECRET_KEY" in warning
    assert any("LANGFUSE_PUBLIC_KEY" in c.value for c in at.code)
    at.button(key="settings_test_langfuse").click().run()
    assert not at.exception
    assert any("not configured" in e.value for e in at.error)


@pytest.mark.parametrize("good_keys", [True, False])
def test_test_connection_reports_success_or_refusal_without_keys(app_as, monkeypatch, good_keys):
    with LangfuseStub([], public_key=f"pk-lf-settings-{next(_keys)}", secret_key="sk-lf-top-secret") as stub:
        env = stub.env()
        if not good_keys:
            env["LANGFUSE_SECRET_KEY"] = "sk-lf-wrong-secret"
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        at = app_as("admin", page="pages/settings.py")
        assert any(stub.url in s.value for s in at.success)
        at.button(key="settings_test_langfuse").click().run()
        assert not at.exception
        shown = " ".join(
            str(e.value) for kind in ("success", "error", "markdown", "caption", "code") for e in getattr(at, kind)
        )
        if good_keys:
            assert any("Connected" in s.value for s in at.success)
        else:
            assert any("refused" in e.value for e in at.error)
        assert env["LANGFUSE_SECRET_KEY"] not in shown and env["LANGFUSE_PUBLIC_KEY"] not in shown
