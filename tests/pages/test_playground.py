"""Playground page (AppTest): choose models, write a prompt, run, see outputs side by side."""

from __future__ import annotations

import pytest

from forge import auth
from forge.store import runs

PAGE = "pages/playground.py"


@pytest.fixture
def stub(openai_stub, monkeypatch):
    monkeypatch.setenv("FORGE_LLM_MAX_RETRIES", "0")
    return openai_stub


def _texts(at, kind):
    return [str(e.value) for e in getattr(at, kind)]


def test_run_offline_and_stub_models_side_by_side(app_as, db, admin, default_ws, stub):
    at = app_as("admin", page=PAGE)
    at.multiselect(key="pg_models").set_value(["offline/echo", "openai/gpt-4o-mini"])
    at.text_input(key="pg_extra").input("offline/nope")
    at.text_area(key="pg_prompt").input("Explain {{topic}} simply")
    at.run()
    assert not at.exception
    assert any("No value for {{topic}}" in t for t in _texts(at, "info"))
    at.text_input(key="pg_var_topic").input("tides")
    at.text_area(key="pg_context").input("Tides follow the moon.")
    at.run()
    est = at.dataframe[0].value
    assert list(est["model"]) == ["offline/echo", "openai/gpt-4o-mini", "offline/nope"]
    assert est["cost (USD)"][1] > 0 and est["input tokens"][0] > 5

    at.button(key="pg_run").click()
    at.run()
    assert not at.exception
    texts = _texts(at, "text")
    assert any(t.startswith("[offline model - no LLM was called]") for t in texts)
    assert any(t.startswith("Stub answer from gpt-4o-mini:") for t in texts)
    assert any("Unknown model" in e and "offline/nope" in e for e in _texts(at, "error"))
    captions = " ".join(_texts(at, "caption"))
    assert "(estimated)" in captions and "$0.0000" in captions  # tokens and cost under each output
    sent = stub.requests_for("gpt-4o-mini")[0]["body"]["messages"][-1]["content"]
    assert "Tides follow the moon." in sent and sent.endswith("Explain tides simply")

    stored = runs.list_runs(auth.access(db, admin, default_ws.id))
    assert sorted(r["model"] for r in stored) == ["offline/echo", "offline/nope", "openai/gpt-4o-mini"]


def test_unknown_provider_is_refused_before_run_as_forge_run_refuses_it(app_as, db, admin, default_ws):
    at = app_as("admin", page=PAGE)
    at.text_input(key="pg_extra").input("nosuch/model")
    at.text_area(key="pg_prompt").input("Hello")
    at.run()
    assert not at.exception
    errors = " ".join(_texts(at, "error"))
    assert "unknown provider 'nosuch' in model 'nosuch/model'" in errors.replace("\\", "")
    assert at.button(key="pg_run").disabled
    at.text_input(key="pg_extra").input("offline/echo")  # fixed: the same page runs it
    at.run()
    assert not at.exception and not at.error and not at.button(key="pg_run").disabled


def test_provider_panel_shows_status_never_keys(app_as, stub):
    at = app_as("admin", page=PAGE)
    panel = " ".join(_texts(at, "markdown") + _texts(at, "caption"))
    assert "OpenAI" in panel and "configured" in panel
    assert "ANTHROPIC_API_KEY" in panel  # how to configure the missing one
    assert "sk-test" not in panel


def test_viewer_cannot_run(app_as, db, admin, default_ws):
    from forge import auth
    from tests.conftest import PASSWORD

    auth.create_user(db, admin, "vic", PASSWORD, "viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    at = app_as("vic")
    assert not at.exception
    with pytest.raises(ValueError):  # the Playground is not in a viewer's menu
        at.switch_page(PAGE)
    # (tests/pages/test_state.py checks the page file run alone still refuses a viewer)


def test_a_provider_without_a_key_is_marked_before_run(app_as, db, admin, default_ws):
    at = app_as("admin", page=PAGE)  # no OPENAI_API_KEY in the test environment
    picker = at.multiselect(key="pg_models")
    openai_options = [o for o in picker.options if "(openai/" in o]
    assert openai_options and all("unavailable: set OPENAI_API_KEY" in o for o in openai_options)
    assert not any("unavailable" in o for o in picker.options if "(offline/" in o)
    picker.set_value(["offline/echo", "openai/gpt-4o-mini"])
    at.text_area(key="pg_prompt").input("Hello")
    at.run()
    assert not at.exception
    est = at.dataframe[0].value.set_index("model")
    assert "OPENAI_API_KEY" in est.loc["openai/gpt-4o-mini", "problem"]
    assert "secrets.toml" in est.loc["openai/gpt-4o-mini", "problem"]
    assert est.loc["offline/echo", "problem"] == ""
    assert not runs.list_runs(auth.access(db, admin, default_ws.id))  # nothing ran to find this out


def test_results_area_sits_under_run_and_scrolls_into_view(app_as, db, admin, default_ws):
    at = app_as("admin", page=PAGE)
    at.text_area(key="pg_prompt").input("Hello")
    at.run()
    at.button(key="pg_run").click().run()
    assert not at.exception
    scripts = [h.proto.body for h in at.get("html")]
    assert any("scrollIntoView" in s and "st-key-pg_results" in s for s in scripts)


def test_credentials_in_a_base_url_never_reach_the_page(app_as, db, admin, default_ws, tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on: the run fails, its error names the endpoint
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        f'[endpoints.vault]\nbase_url = "http://bob:pw-page-secret-1@127.0.0.1:{port}/v1?api_key=qk-page-secret-2"\n'
    )
    monkeypatch.setenv("FORGE_CATALOG", str(catalog))
    monkeypatch.setenv("FORGE_LLM_MAX_RETRIES", "0")
    at = app_as("admin", page=PAGE)
    at.text_input(key="pg_extra").input("vault/m1")
    at.text_area(key="pg_prompt").input("Hello")
    at.run()
    at.button(key="pg_run").click()
    at.run()
    assert not at.exception
    shown = " ".join(
        str(e.value) for kind in ("markdown", "caption", "error", "text", "success", "info") for e in getattr(at, kind)
    )
    assert "127.0.0.1" in shown and "Could not connect" in shown.replace("\\", "")
    assert "pw-page-secret-1" not in shown and "qk-page-secret-2" not in shown
    stored = runs.list_runs(auth.access(db, admin, default_ws.id))
    assert len(stored) == 1 and "qk-page-secret-2" not in stored[0]["error"] and "***" in stored[0]["error"]
