"""Settings: a LANGFUSE_HOST with user:password in it is shown without them, in the status and the test's answer."""

from __future__ import annotations

from tests.stubs.langfuse_stub import LangfuseStub

HOST_PW = "pw-settings-host-31"


def test_host_credentials_never_reach_the_page(app_as, monkeypatch):
    with LangfuseStub([], public_key="pk-lf-settings-redact") as stub:
        for k, v in stub.env().items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("LANGFUSE_HOST", stub.url.replace("http://", f"http://proxy:{HOST_PW}@"))
        at = app_as("admin", page="pages/settings.py")
        at.button(key="settings_test_langfuse").click().run()
        assert not at.exception
        shown = " ".join(
            str(e.value)
            for kind in ("success", "error", "warning", "markdown", "caption", "code")
            for e in getattr(at, kind)
        )
        assert stub.url.replace("http://", "http://***@") in shown
        assert "Connected" in shown and HOST_PW not in shown
