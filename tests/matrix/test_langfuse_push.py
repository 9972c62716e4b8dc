"""Labels and verdicts pushed to Langfuse as scores, against the stub server (real HTTP)."""

from __future__ import annotations

import itertools

import pytest

from forge import matrix
from forge.traces.langfuse import LangfuseError
from tests.stubs.langfuse_stub import LangfuseStub

_keys = itertools.count()


@pytest.fixture
def stub(monkeypatch):
    with LangfuseStub([], public_key=f"pk-lf-push-{next(_keys)}") as server:
        for k, v in server.env().items():
            monkeypatch.setenv(k, v)
        yield server


def push(known):
    cols = matrix.columns(known.access, known.eval_set_id)
    return matrix.push_to_langfuse(known.access, known.eval_set_id, known.eval_set, cols)


def test_push_scores_with_a_429_then_idempotent(known, stub):
    stub.score_rate_limit = 1  # the first score post is rate limited, then retried
    summary = push(known)
    # t0-t4 come from Langfuse: 5 human labels + 3 evals x 5 verdicts; t5-t9 (files) are skipped
    assert (summary.pushed, summary.failed, summary.skipped) == (20, 0, 20)
    assert summary.retries == 1 and ("/api/public/scores", 429) in stub.log
    scores = stub.pushed_scores
    assert len(scores) == 20
    by_name = {(s["traceId"], s["name"]): s for s in scores.values()}
    alpha = by_name[("lf-4", "alpha v2")]
    assert (alpha["value"], alpha["dataType"], alpha["comment"]) == (0, "BOOLEAN", "matched 'I don't know'")
    human = by_name[("lf-0", "human:Grounded answers")]
    assert human["value"] == 1 and human["dataType"] == "BOOLEAN"
    assert by_name[("lf-2", "human:Grounded answers")]["comment"].endswith("clearly grounded")

    # a second push after a label changed: the same 20 scores, updated in place
    matrix.mark_label_wrong(known.access, known.eval_set_id, known.trace_ids[0], "pass")
    posts_before = stub.score_posts
    again = push(known)
    assert (again.pushed, again.failed) == (20, 0)
    assert stub.score_posts == posts_before + 20
    assert len(stub.pushed_scores) == 20
    relabelled = {(s["traceId"], s["name"]): s for s in stub.pushed_scores.values()}
    assert relabelled[("lf-0", "human:Grounded answers")]["value"] == 0


def test_score_ids_are_deterministic_per_workspace_trace_and_name(known):
    a = matrix.score_id("ws1", "lf-1", "alpha v2")
    assert a == matrix.score_id("ws1", "lf-1", "alpha v2")
    assert len({a, matrix.score_id("ws2", "lf-1", "alpha v2"), matrix.score_id("ws1", "lf-1", "alpha v1")}) == 3


def test_wrong_keys_and_no_configuration(known, stub, monkeypatch):
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-wrong")
    with pytest.raises(LangfuseError, match="refused the keys"):
        push(known)
    assert stub.pushed_scores == {}
    monkeypatch.delenv("LANGFUSE_HOST")
    with pytest.raises(LangfuseError, match="not configured"):
        push(known)
