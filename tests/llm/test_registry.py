"""Registry, OpenAI-compatible endpoints from the catalog, and the provider status panel data."""

from __future__ import annotations

import pytest

from forge.llm import registry
from forge.llm.base import Provider, ProviderUnavailable, Request
from forge.llm.runner import run_fanout


@pytest.fixture
def local_endpoint(openai_stub, tmp_path, monkeypatch):
    path = tmp_path / "catalog.toml"
    path.write_text(
        f'[endpoints.local]\nlabel = "Local vLLM"\nbase_url = "{openai_stub.base_url}"\n'
        'api_key_env = "LOCAL_LLM_KEY"\n\n'
        '[[models]]\nprovider = "local"\nid = "llama-3-8b"\nname = "Llama 3 8B"\n'
        "context_window = 8192\n"
        "input_per_mtok = 0.0\noutput_per_mtok = 0.0\n"
    )
    monkeypatch.setenv("FORGE_CATALOG", str(path))
    return openai_stub


def test_compatible_endpoint_runs(local_endpoint, policy, monkeypatch):
    monkeypatch.setenv("LOCAL_LLM_KEY", "sk-test")
    res = run_fanout(["local/llama-3-8b"], Request("hi", max_tokens=9), policy=policy)[0]
    assert res.ok and res.output.startswith("Stub answer from llama-3-8b") and res.cost_usd == 0.0
    body = local_endpoint.requests[-1]["body"]
    assert body["max_tokens"] == 9 and "max_completion_tokens" not in body


def test_compatible_endpoint_without_key_is_still_tried(local_endpoint, policy):
    res = run_fanout(["local/llama-3-8b"], Request("hi"), policy=policy)[0]
    # The stub wants a key: the server's 401 comes back as the row's error.
    assert res.error_kind == "bad_key" and "LOCAL_LLM_KEY" in res.error


def test_status_never_shows_keys(local_endpoint, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('ANTHROPIC_API_KEY = "ak-secret-value"\n')
    monkeypatch.setenv("FORGE_SECRETS", str(secrets))
    st = {s.name: s for s in registry.provider_statuses()}
    assert set(st) == {"openai", "anthropic", "offline", "local"}
    assert not st["openai"].configured and "OPENAI_API_KEY" in st["openai"].how_to
    assert st["anthropic"].configured and st["anthropic"].source == "secrets"
    assert st["offline"].configured and st["offline"].source == "not needed"
    assert st["local"].configured and st["local"].base_url == local_endpoint.base_url
    assert "ak-secret-value" not in repr(list(st.values()))


def test_missing_sdk_breaks_one_provider_only(monkeypatch):
    monkeypatch.setitem(registry._FACTORIES, "broken", "forge.llm.no_such_module:Nothing")
    with pytest.raises(ProviderUnavailable, match="pip install"):
        registry.get_provider("broken")
    res = run_fanout(["broken/model", "offline/echo"], Request("hi"))
    assert "pip install" in res[0].error and res[1].ok


def test_register_a_provider():
    class Fixed(Provider):
        name = "fixed"
        key_env = None

        def complete(self, model_id, request, on_delta, timeout):
            from forge.llm.base import Completion

            return Completion(f"fixed {model_id}", 1, 2)

    registry.register("fixed", Fixed)
    try:
        res = run_fanout(["fixed/a"], Request("hi"))[0]
        assert (res.output, res.input_tokens, res.output_tokens, res.cost_usd) == ("fixed a", 1, 2, None)
    finally:
        registry._FACTORIES.pop("fixed")
        registry._instances.pop("fixed", None)
