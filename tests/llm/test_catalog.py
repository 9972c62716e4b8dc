"""The editable model catalog."""

from __future__ import annotations

import pytest

from forge.llm.base import UnknownModelError
from forge.llm.catalog import load_catalog, split_model


def test_shipped_catalog_has_current_models_with_prices():
    cat = load_catalog()
    assert cat.problems == []
    for name in (
        "openai/gpt-4o-mini",
        "openai/gpt-4.1",
        "anthropic/claude-sonnet-4-5",
        "anthropic/claude-haiku-4-5",
        "offline/echo",
    ):
        info = cat.get(name)
        assert info is not None and info.price_known and info.context_window > 0, name
    assert cat.get("openai/gpt-4o-mini").cost(1_000_000, 1_000_000) == pytest.approx(0.75)


def test_user_catalog_with_endpoint_and_bad_entries(tmp_path, monkeypatch):
    path = tmp_path / "my.toml"
    path.write_text(
        '[endpoints.local]\nbase_url = "http://127.0.0.1:9/v1"\n\n'
        '[endpoints.broken]\nlabel = "no url"\n\n'
        '[[models]]\nprovider = "local"\nid = "llama3"\nname = "Llama"\ncontext_window = 8192\n\n'
        '[[models]]\nprovider = "elsewhere"\nid = "x"\n\n'
        '[[models]]\nprovider = "openai"\nid = "gpt-x"\ninput_per_mtok = "cheap"\n'
    )
    monkeypatch.setenv("FORGE_CATALOG", str(path))
    cat = load_catalog()
    assert list(cat.endpoints) == ["local"]
    assert cat.get("local/llama3").context_window == 8192 and not cat.get("local/llama3").price_known
    assert cat.get("openai/gpt-x").cost(10, 10) is None
    text = "\n".join(cat.problems)
    assert "[endpoints.broken]: base_url is required" in text
    assert "unknown provider 'elsewhere'" in text and "expected a number" in text


def test_unreadable_catalog_is_reported(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[models]\n")
    monkeypatch.setenv("FORGE_CATALOG", str(bad))
    assert load_catalog().problems and load_catalog().models == {}


def test_model_names_are_provider_slash_model():
    assert split_model("local/org/model-7b") == ("local", "org/model-7b")
    with pytest.raises(UnknownModelError, match="Unknown model: 'gpt-4o'"):
        split_model("gpt-4o")
