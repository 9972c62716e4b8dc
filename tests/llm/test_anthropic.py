"""The Anthropic provider through the real anthropic SDK against a local stub server."""

from __future__ import annotations

import time

import pytest

from forge.llm.base import Request
from forge.llm.runner import run_model


@pytest.mark.parametrize("stream", [False, True])
def test_answer_with_usage_and_cost(anthropic_stub, policy, stream):
    deltas = []
    res = run_model(
        "anthropic/claude-sonnet-4-5",
        Request("Tell me about tea", system="Be brief", stream=stream),
        on_delta=lambda m, t: deltas.append(t),
        policy=policy,
    )
    assert res.error is None
    assert res.output == "Stub answer from claude-sonnet-4-5: Tell me about tea"
    assert (res.input_tokens, res.output_tokens, res.tokens_estimated) == (9, 8, False)
    assert res.cost_usd == pytest.approx((9 * 3 + 8 * 15) / 1e6)
    body = anthropic_stub.requests[-1]["body"]
    assert body["system"] == "Be brief" and body["max_tokens"] == 1024  # required by the API: defaulted
    assert body["messages"] == [{"role": "user", "content": "Tell me about tea"}]
    if stream:
        assert "".join(deltas) == res.output and res.ttft_ms is not None
    else:
        assert deltas == []


def test_parameters_are_sent(anthropic_stub, policy):
    run_model("anthropic/claude-haiku-4-5", Request("hi", temperature=0.2, max_tokens=77, stream=False), policy=policy)
    body = anthropic_stub.requests[-1]["body"]
    assert body["temperature"] == 0.2 and body["max_tokens"] == 77


@pytest.mark.parametrize("stream", [False, True])
def test_429_retry_after_is_honoured(anthropic_stub, policy, stream):
    anthropic_stub.fail("claude-haiku-4-5", 429, times=1, retry_after=1)
    res = run_model("anthropic/claude-haiku-4-5", Request("hi", stream=stream), policy=policy)
    assert res.error is None and res.attempts == 2
    gap = anthropic_stub.requests[1]["time"] - anthropic_stub.requests[0]["time"]
    assert 0.95 <= gap < 2.0


def test_500_then_success(anthropic_stub, policy):
    anthropic_stub.fail("claude-haiku-4-5", 500, times=1)
    res = run_model("anthropic/claude-haiku-4-5", Request("hi"), policy=policy)
    assert res.error is None and res.attempts == 2


def test_overloaded_529_gives_up_with_message(anthropic_stub, policy):
    anthropic_stub.fail("claude-haiku-4-5", 529, times=9)
    res = run_model("anthropic/claude-haiku-4-5", Request("hi"), policy=policy)
    assert "Server error (529)" in res.error and res.attempts == 3


def test_hang_past_the_timeout(anthropic_stub, policy):
    anthropic_stub.hang_models.add("claude-haiku-4-5")
    t0 = time.perf_counter()
    res = run_model("anthropic/claude-haiku-4-5", Request("hi"), policy=policy)
    assert res.error_kind == "timeout" and time.perf_counter() - t0 < 3.0


def test_bad_key(anthropic_stub, policy, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "ak-wrong")
    res = run_model("anthropic/claude-haiku-4-5", Request("hi"), policy=policy)
    assert res.error_kind == "bad_key" and "ANTHROPIC_API_KEY" in res.error and "ak-wrong" not in res.error


def test_missing_key_says_how_to_fix(policy):
    res = run_model("anthropic/claude-haiku-4-5", Request("hi"), policy=policy)
    assert res.error.startswith("No key found - set the ANTHROPIC_API_KEY environment variable")


def test_unknown_model(anthropic_stub, policy):
    res = run_model("anthropic/missing-claude", Request("hi"), policy=policy)
    assert res.error.startswith("Unknown model: anthropic/missing-claude")


def test_server_side_context_overflow_is_named(anthropic_stub, policy):
    anthropic_stub.fail("claude-new", 400, message="prompt is too long: 250000 tokens > 200000 maximum")
    res = run_model("anthropic/claude-new", Request("hi"), policy=policy)
    assert res.error_kind == "context_overflow" and "too long for anthropic/claude-new" in res.error
