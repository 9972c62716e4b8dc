"""Fan-out: the same prompt to several models at once; one failure never loses another result."""

from __future__ import annotations

import threading
import time

from forge.llm.base import Request
from forge.llm.retry import RetryPolicy
from forge.llm.runner import estimate, run_fanout


def test_one_failure_does_not_lose_the_others(openai_stub, anthropic_stub, policy):
    openai_stub.hang_models.add("gpt-4o")
    anthropic_stub.fail("claude-haiku-4-5", 500, times=9)
    models = [
        "openai/gpt-4o-mini",
        "openai/gpt-4o",
        "anthropic/claude-sonnet-4-5",
        "anthropic/claude-haiku-4-5",
        "nosuch/model",
        "offline/echo",
        "openai/missing-x",
    ]
    results = run_fanout(models, Request("Compare these"), policy=policy)
    assert [r.model for r in results] == models  # same order as asked
    ok = {r.model for r in results if r.ok}
    assert ok == {"openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "offline/echo"}
    by = {r.model: r for r in results}
    assert by["openai/gpt-4o"].error_kind == "timeout"
    assert "Server error (500)" in by["anthropic/claude-haiku-4-5"].error
    assert by["nosuch/model"].error.startswith("Unknown provider 'nosuch'")
    assert by["openai/missing-x"].error.startswith("Unknown model:")
    assert by["anthropic/claude-sonnet-4-5"].output.startswith("Stub answer from claude-sonnet-4-5")


def test_models_run_concurrently(openai_stub, anthropic_stub, policy):
    openai_stub.delay = anthropic_stub.delay = 0.5
    models = ["openai/gpt-4o-mini", "openai/gpt-4o", "openai/gpt-4.1", "anthropic/claude-haiku-4-5"]
    t0 = time.perf_counter()
    results = run_fanout(models, Request("hi"), policy=policy)
    wall = time.perf_counter() - t0
    assert all(r.ok for r in results)
    assert wall < 1.5  # in sequence it would take at least 2 s


def test_streaming_deltas_interleave_and_results_arrive_early(openai_stub, policy):
    openai_stub.chunk_delay = 0.01
    deltas, finished = [], []
    lock = threading.Lock()

    def on_delta(model, text):
        with lock:
            deltas.append(model)

    results = run_fanout(
        ["openai/gpt-4o-mini", "offline/echo"],
        Request("Tell me a story"),
        on_delta=on_delta,
        on_result=lambda r: finished.append(r.model),
        policy=policy,
    )
    assert set(deltas) == {"openai/gpt-4o-mini", "offline/echo"}
    assert finished[0] == "offline/echo"  # the fast one is reported before the other ends
    assert sorted(finished) == sorted(r.model for r in results)


def test_context_overflow_is_caught_before_sending(openai_stub, policy):
    big = "word " * 130_000  # ~130k tokens: more than gpt-4o's 128k window, less than gpt-4.1's
    results = run_fanout(["openai/gpt-4o", "openai/gpt-4.1"], Request(big, stream=False), policy=policy)
    over, fits = results
    assert over.error_kind == "context_overflow" and "context window of 128,000 tokens" in over.error
    assert fits.ok
    assert [r["body"]["model"] for r in openai_stub.requests] == ["gpt-4.1"]  # nothing sent for gpt-4o


def test_max_tokens_counts_against_the_window(policy):
    res = run_fanout(["offline/echo"], Request("hello", max_tokens=2_000_000), policy=policy)[0]
    assert res.error_kind == "context_overflow" and "lower max_tokens" in res.error


def test_estimate_per_model():
    req = Request("Summarise the meeting notes please", system="Be brief", max_tokens=100)
    est = {
        e.model: e
        for e in estimate(["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "openai/brand-new", "bad"], req)
    }
    mini = est["openai/gpt-4o-mini"]
    assert 10 <= mini.input_tokens <= 30 and mini.output_tokens == 100
    assert mini.cost_usd == (mini.input_tokens * 0.15 + 100 * 0.60) / 1e6
    assert est["anthropic/claude-sonnet-4-5"].context_window == 200_000
    assert est["openai/brand-new"].cost_usd is None and est["openai/brand-new"].problem is None
    assert est["bad"].problem.startswith("Unknown model")


def test_timeout_setting_from_environment(openai_stub, monkeypatch):
    monkeypatch.setenv("FORGE_LLM_TIMEOUT", "0.5")
    monkeypatch.setenv("FORGE_LLM_MAX_RETRIES", "0")
    openai_stub.hang_models.add("gpt-4o-mini")
    policy = RetryPolicy.from_settings()
    assert policy.timeout == 0.5 and policy.max_retries == 0
    t0 = time.perf_counter()
    res = run_fanout(["openai/gpt-4o-mini"], Request("hi"))[0]
    assert res.error_kind == "timeout" and time.perf_counter() - t0 < 2.0


def test_no_models_no_results():
    assert run_fanout([], Request("hi")) == []
