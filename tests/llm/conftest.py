"""Stub servers for the real openai/anthropic SDKs, and a fast retry policy."""
from __future__ import annotations

import pytest

from forge.llm.retry import RetryPolicy
from tests.stubs.anthropic_stub import AnthropicStub
from tests.stubs.openai_stub import OpenAIStub


@pytest.fixture
def openai_stub(monkeypatch):
    with OpenAIStub(api_key="sk-test") as stub:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
        yield stub


@pytest.fixture
def anthropic_stub(monkeypatch):
    with AnthropicStub(api_key="ak-test") as stub:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "ak-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.base_url)
        yield stub


@pytest.fixture
def policy():
    """Short timeout, quick backoff: failures show up in well under a second or two."""
    return RetryPolicy(timeout=1.0, max_retries=2, cap=5.0, backoff=0.05)
