"""Judging a batch with an eval set's evals (in the sandbox): pass rates checked against hand counts."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from forge import batch
from forge.store import evals as eval_store
from forge.store import ratings as rating_store
from tests.batch.conftest import save_dataset, save_prompt
from tests.evalruns.conftest import CITES, LONG_ENOUGH

# The stub's answers, in row order (one call at a time): which cite, which are long enough, counted by hand.
REPLIES = [
    "short [1]",  # cites, short
    "no citation here but long enough text",  # long
    "[2] cited and long enough for the eval",  # cites, long
    "nope",
    "x",
    "also long enough to pass but no cite",  # long
]
ECHO, STUB, MISSING = "offline/echo", "openai/gpt-4o-mini", "openai/missing-model"


@pytest.fixture
def judged_batch(acc, openai_stub, policy):
    openai_stub.script("gpt-4o-mini", *REPLIES)
    pv = save_prompt(acc)
    # offline/echo repeats the prompt's first line: rows 1-4 cite "[1]", and its answers are all long
    ds = save_dataset(acc, ["q1 [1]", "q2 [1]", "q3 [1]", "q4 [1]", "q5", "q6"])
    es = rating_store.get_or_create_eval_set(acc, "Cited", "cites a source")
    eval_store.create_eval(acc, es["id"], "cites", CITES, origin="manual")
    long_enough = eval_store.create_eval(acc, es["id"], "long", LONG_ENOUGH, origin="llm")
    eval_store.set_status(acc, long_enough.id, "kept")
    plan = batch.plan_batch(acc, pv, ds, [ECHO, STUB, MISSING])
    out = batch.run_batch(acc, plan, policy=policy, concurrency=1)
    judge = batch.judge_batch(acc, out.batch_id, es["id"], timeout_s=5)
    return out, judge


def test_pass_rates_match_hand_counts(acc, judged_batch):
    out, judge = judged_batch
    assert (judge.outputs, judge.evals) == (12, 2)  # the failed model's 6 calls are not judged
    j = batch.judged(acc, out.batch_id)
    assert j.evals == ["cites v1", "long v1"]
    expected = {
        (ECHO, "cites v1"): (4, 6),
        (ECHO, "long v1"): (6, 6),
        (ECHO, batch.ALL_EVALS): (4, 6),
        (STUB, "cites v1"): (2, 6),
        (STUB, "long v1"): (3, 6),
        (STUB, batch.ALL_EVALS): (1, 6),
        (MISSING, "cites v1"): (0, 0),
    }
    for key, (passed, n) in expected.items():
        rate = j.rates[key]
        assert (rate.passed, rate.n) == (passed, n), key
        if n:
            assert rate.low <= passed / n <= rate.high
    assert j.rates[(STUB, "cites v1")].low == pytest.approx(batch.wilson(2, 6).low)

    table = j.rates_table().set_index("model")
    assert table.loc[STUB, "cites v1"] == pytest.approx(2 / 6)
    assert table.loc[MISSING, "failed calls"] == 6
    assert table.loc[ECHO, "cost (USD)"] == 0
    assert table.loc[STUB, "latency p50 (ms)"] > 0


def test_grid_filters_and_export(acc, judged_batch):
    out, _ = judged_batch
    j = batch.judged(acc, out.batch_id)
    cell = j.grid[(j.grid["row"] == 3) & (j.grid["model"] == STUB)].iloc[0]
    assert cell["output"] == REPLIES[2] and cell["cites v1"] is True and cell["long v1"] is True
    assert cell["differs"] and 0 <= cell["similarity"] < 1
    # rows where the two answering models' verdicts differ on some eval, by hand: cites on 2 and 4, long on 1 and 5
    assert sorted(set(j.filtered(disagreeing_only=True)["row"])) == [1, 2, 4, 5]
    assert sorted(set(j.filtered(failing_only=True)["row"])) == [1, 2, 3, 4, 5, 6]  # the missing model fails all

    frame = pd.read_csv(io.BytesIO(batch.export_bytes(j, "csv")))
    assert len(frame) == 18 and "var_question" in frame and set(frame["cites v1"].dropna()) == {"pass", "fail"}
    parquet = pd.read_parquet(io.BytesIO(batch.export_bytes(j, "parquet")))
    assert list(parquet.columns) == list(frame.columns)


def test_output_diff_marks_the_changed_words():
    assert batch.output_diff("the cat sat", "the dog sat") == [("=", "the"), ("-", "cat"), ("+", "dog"), ("=", "sat")]
