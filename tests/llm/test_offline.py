"""The offline provider: no key, deterministic, and says plainly that it is offline."""

from __future__ import annotations

from forge.llm.base import Request
from forge.llm.offline import NOTICE
from forge.llm.runner import run_fanout


def test_deterministic_and_labelled():
    req = Request("Summarise:\nThe cat sat on the mat.", system="Be brief")
    a, b = run_fanout(["offline/echo", "offline/echo"], req)
    assert a.output == b.output
    assert a.output.startswith("[offline model - no LLM was called]") and a.output.startswith(NOTICE)
    assert "First line: Summarise:" in a.output
    assert a.tokens_estimated is True and a.input_tokens > 0 and a.output_tokens > 0
    assert a.cost_usd == 0.0


def test_different_prompts_differ():
    a = run_fanout(["offline/echo"], Request("one"))[0]
    b = run_fanout(["offline/echo"], Request("two"))[0]
    assert a.output != b.output


def test_slow_streams_word_by_word():
    pieces = []
    res = run_fanout(["offline/slow"], Request("hello"), on_delta=lambda m, t: pieces.append(t))[0]
    assert len(pieces) > 10 and "".join(pieces) == res.output
    assert res.ttft_ms is not None and res.latency_ms > res.ttft_ms


def test_unknown_offline_model():
    res = run_fanout(["offline/nope"], Request("hello"))[0]
    assert res.error.startswith("Unknown model: offline/nope")
