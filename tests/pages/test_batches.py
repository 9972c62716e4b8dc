"""The Batch runs page: a batch with one failing model, the spend limit, and the judged table against hand counts."""

from __future__ import annotations

import pytest

from forge import auth, jobs
from forge.library import datasets, prompts
from forge.llm.prompts import PromptSpec
from forge.store import batches as batch_store
from forge.store import evals as eval_store
from forge.store import ratings as rating_store

CITES = """
import re


def evaluate(trace):
    return bool(re.search(r"\\[\\d+\\]", trace["output_text"]))
"""
FROM_STUB = """
def evaluate(trace):
    return "Stub answer" in trace["output_text"]
"""
MODELS = ["offline/echo", "openai/gpt-4o-mini", "openai/missing-model"]


@pytest.fixture
def seeded(db, admin, default_ws, openai_stub, monkeypatch):
    monkeypatch.setenv("FORGE_LLM_MAX_RETRIES", "0")
    acc = auth.access(db, admin, default_ws.id, "edit")
    prompts.save(acc, "ask", PromptSpec(template="Answer briefly: {{question}}", max_tokens=20), MODELS)
    rows = "\n".join(f'{{"question": "{q}"}}' for q in ["q1 [1]", "q2 [1]", "q3 [1]", "q4 [1]", "q5", "q6"])
    datasets.save(acc, "six", datasets.parse_upload("six.jsonl", rows.encode()))
    es = rating_store.get_or_create_eval_set(acc, "Cited", "cites a source")
    for name, source in (("cites", CITES), ("from stub", FROM_STUB)):
        ev = eval_store.create_eval(acc, es["id"], name, source, origin="llm")
        eval_store.set_status(acc, ev.id, "kept")
    return acc


def _click_and_wait(at, key, db, admin, ws):
    """Click the button that starts a job, wait for the workspace's jobs to end, show the page again."""
    at.button(key=key).click().run()
    assert not at.exception
    for job in jobs.recent(db, admin, ws.id):
        jobs.wait(db, admin, ws.id, job.id, timeout=60)
    at.run()
    assert not at.exception


def _frame(at, column):
    """The page's table that has ``column`` (the tabs render every table at once)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _cell(frame, model, column):
    return frame.set_index("model").loc[model, column]


def test_batch_with_a_failing_model_then_judged(db, admin, default_ws, seeded, app_as):
    at = app_as("admin", page="pages/batches.py")
    assert not at.exception
    assert at.multiselect(key=next(k for k in at.session_state if str(k).startswith("batches_models_"))).value == MODELS
    assert any("18 calls" in m.value for m in at.markdown)
    _click_and_wait(at, "batches_start", db, admin, default_ws)
    batch = batch_store.list_batches(seeded)[0]
    assert (batch["status"], batch["done"]) == ("done", 18)

    _click_and_wait(at, "batches_judge", db, admin, default_ws)
    rates = _frame(at, "cites v1")
    # by hand: rows 1-4 carry "[1]", both answering models repeat the prompt; only the stub says "Stub answer"
    assert _cell(rates, "offline/echo", "cites v1").startswith("67% [") and "n=6" in _cell(
        rates, "offline/echo", "cites v1"
    )
    assert _cell(rates, "openai/gpt-4o-mini", "cites v1").startswith("67% [")
    assert _cell(rates, "openai/gpt-4o-mini", "from stub v1").startswith("100% [")
    assert _cell(rates, "offline/echo", "from stub v1").startswith("0% [")
    assert (
        _cell(rates, "openai/missing-model", "cites v1") == "—"
        and _cell(rates, "openai/missing-model", "failed calls") == "6"
    )
    # Wilson 95 % for 4 of 6, computed by hand: 30.0 % - 90.3 %
    assert "[30%–90%]" in _cell(rates, "offline/echo", "cites v1")

    grid = _frame(at, "row")
    assert len(grid) == 6 and grid["openai/missing-model"].str.startswith("⚠").all()
    at.checkbox(key="batches_disagree").check().run()
    assert not at.exception
    # every row disagrees: echo fails "from stub", the stub passes it
    assert len(_frame(at, "row")) == 6
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Export CSV (all rows)", "Export Parquet (all rows)"]


def test_spend_limit_stops_and_keeps_what_ran(db, admin, default_ws, seeded, app_as):
    at = app_as("admin", page="pages/batches.py")
    key = next(k for k in at.session_state if str(k).startswith("batches_models_"))
    at.multiselect(key=key).set_value(["openai/gpt-4o-mini"]).run()
    at.number_input(key="batches_limit").set_value(0.00003).run()
    _click_and_wait(at, "batches_start", db, admin, default_ws)
    batch = batch_store.list_batches(seeded)[0]
    assert batch["status"] == "stopped" and 0 < batch["done"] < 6 and batch["spent_usd"] <= 0.00003
    assert any("spend limit" in w.value for w in at.warning)
