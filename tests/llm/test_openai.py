"""The OpenAI provider through the real openai SDK against a local stub server."""

from __future__ import annotations

import time

import pytest

from forge.llm.base import Request
from forge.llm.runner import run_model


@pytest.mark.parametrize("stream", [False, True])
def test_answer_with_usage_and_cost(openai_stub, policy, stream):
    deltas = []
    res = run_model(
        "openai/gpt-4o-mini",
        Request("Tell me about tea", system="Be brief", stream=stream),
        on_delta=lambda m, t: deltas.append((m, t)),
        policy=policy,
    )
    assert res.error is None
    assert res.output == "Stub answer from gpt-4o-mini: Tell me about tea"
    # The stub counts words; these numbers come from its usage, not from our estimate.
    assert (res.input_tokens, res.output_tokens, res.tokens_estimated) == (12, 8, False)
    assert res.cost_usd == pytest.approx((12 * 0.15 + 8 * 0.60) / 1e6)
    assert res.latency_ms > 0
    sent = openai_stub.requests[-1]["body"]
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Tell me about tea"},
    ]
    if stream:
        assert "".join(t for _, t in deltas) == res.output and len(deltas) > 3
        assert {m for m, _ in deltas} == {"openai/gpt-4o-mini"}
        assert sent["stream_options"] == {"include_usage": True}
        assert res.ttft_ms is not None and res.ttft_ms <= res.latency_ms
    else:
        assert deltas == [] and res.ttft_ms is None


def test_parameters_are_sent(openai_stub, policy):
    run_model("openai/gpt-4o", Request("hi", temperature=0.3, max_tokens=55, stream=False), policy=policy)
    body = openai_stub.requests[-1]["body"]
    assert body["temperature"] == 0.3 and body["max_completion_tokens"] == 55


@pytest.mark.parametrize("stream", [False, True])
def test_missing_usage_is_estimated_and_marked(openai_stub, policy, stream):
    openai_stub.omit_usage = True
    res = run_model("openai/gpt-4o-mini", Request("Tell me about tea", stream=stream), policy=policy)
    assert res.error is None and res.tokens_estimated is True
    assert res.input_tokens > 0 and res.output_tokens > 0


@pytest.mark.parametrize("stream", [False, True])
def test_429_retry_after_is_honoured(openai_stub, policy, stream):
    openai_stub.fail("gpt-4o-mini", 429, times=1, retry_after=1)
    t0 = time.perf_counter()
    res = run_model("openai/gpt-4o-mini", Request("hi", stream=stream), policy=policy)
    elapsed = time.perf_counter() - t0
    assert res.error is None and res.attempts == 2
    gap = openai_stub.requests[1]["time"] - openai_stub.requests[0]["time"]
    # The backoff alone would be ~0.05 s: the second try waited for Retry-After.
    assert 0.95 <= gap < 2.0 and elapsed >= 1.0


def test_retry_after_is_capped(openai_stub):
    from forge.llm.retry import RetryPolicy

    openai_stub.fail("gpt-4o-mini", 429, times=1, retry_after=3600)
    t0 = time.perf_counter()
    res = run_model("openai/gpt-4o-mini", Request("hi"), policy=RetryPolicy(timeout=2, max_retries=1, cap=0.3))
    assert res.error is None and time.perf_counter() - t0 < 2.0


def test_500_is_retried_then_given_up(openai_stub, policy):
    openai_stub.fail("gpt-4o-mini", 500, times=5)
    res = run_model("openai/gpt-4o-mini", Request("hi"), policy=policy)
    assert res.output == "" and res.attempts == 3  # 1 + max_retries
    assert "Server error (500)" in res.error and "gave up after 3 attempts" in res.error
    assert len(openai_stub.requests) == 3


def test_hang_past_the_timeout(openai_stub, policy):
    openai_stub.hang_models.add("gpt-4o-mini")
    t0 = time.perf_counter()
    res = run_model("openai/gpt-4o-mini", Request("hi"), policy=policy)
    assert res.error_kind == "timeout" and "Timed out after 1 s" in res.error
    assert time.perf_counter() - t0 < 3.0  # one timeout, not retried


def test_bad_key(openai_stub, policy, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    res = run_model("openai/gpt-4o-mini", Request("hi"), policy=policy)
    assert res.error_kind == "bad_key" and "OPENAI_API_KEY" in res.error and "401" in res.error
    assert "sk-wrong" not in res.error  # never echo the key
    assert len(openai_stub.requests) == 1  # not retried


def test_missing_key_says_how_to_fix(policy):
    res = run_model("openai/gpt-4o-mini", Request("hi"), policy=policy)
    assert res.error.startswith("No key found - set the OPENAI_API_KEY environment variable")


def test_key_from_secrets_file(openai_stub, policy, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('OPENAI_API_KEY = "sk-test"\n')
    monkeypatch.setenv("FORGE_SECRETS", str(secrets))
    res = run_model("openai/gpt-4o-mini", Request("hi"), policy=policy)
    assert res.error is None


def test_model_unknown_to_the_server(openai_stub, policy):
    res = run_model("openai/missing-model", Request("hi"), policy=policy)
    assert res.error_kind == "unknown_model" and res.error.startswith("Unknown model: openai/missing-model")


def test_model_missing_from_catalog_runs_with_unknown_price(openai_stub, policy):
    res = run_model("openai/gpt-9-preview", Request("hi"), policy=policy)
    assert res.error is None and res.output.startswith("Stub answer from gpt-9-preview")
    assert res.cost_usd is None and res.price_known is False and res.input_tokens is not None


def test_server_side_context_overflow_is_named(openai_stub, policy):
    """A model the catalog can't check still gets a clear overflow error from the server's 400."""
    openai_stub.fail("my-new-model", 400, message="This model's maximum context length is 8192 tokens.")
    res = run_model("openai/my-new-model", Request("hi"), policy=policy)
    assert res.error_kind == "context_overflow" and "too long for openai/my-new-model" in res.error
