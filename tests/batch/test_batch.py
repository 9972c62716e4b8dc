"""Batch runs against the stub servers: every output kept as a run and a trace, failures apart, spend limit, cancel."""

from __future__ import annotations

import math

import pytest

from forge import batch, jobs
from forge.store import batches as batch_store
from forge.store import runs as run_store
from forge.store import traces as trace_store
from tests.batch.conftest import save_dataset, save_prompt

MODELS = ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "openai/missing-model"]


def test_one_failing_model_keeps_the_others(acc, openai_stub, anthropic_stub, policy):
    pv = save_prompt(acc)
    ds = save_dataset(acc, [f"question {i}" for i in range(5)])
    plan = batch.plan_batch(acc, pv, ds, MODELS)
    assert plan.total_calls == 15 and plan.estimate_usd > 0
    out = batch.run_batch(acc, plan, policy=policy, concurrency=4)
    assert (out.status, out.done, out.total) == ("done", 15, 15)
    summary = {s.model: s for s in out.summaries(plan.models)}
    assert summary["openai/missing-model"].failed == 5
    assert summary["openai/gpt-4o-mini"].failed == 0 and summary["anthropic/claude-haiku-4-5"].failed == 0
    assert summary["openai/gpt-4o-mini"].cost_usd > 0

    stored = run_store.list_runs(acc, batch_id=out.batch_id)
    assert len(stored) == 15
    full = run_store.get_runs(acc, [r["id"] for r in stored])
    assert {r["prompt_version_id"] for r in full} == {pv.id}
    assert sorted(r["variables"]["question"] for r in full if r["model"] == "openai/gpt-4o-mini") == [
        f"question {i}" for i in range(5)
    ]
    missing = [r for r in full if r["model"] == "openai/missing-model"]
    assert all("Unknown model" in r["error"] for r in missing)
    # every output is a playground trace too (so it can be rated and evaluated)
    traces = trace_store.get_traces(acc, [r["trace_id"] for r in full])
    assert len(traces) == 15 and {t["source"] for t in traces.values()} == {"playground"}
    ok = next(r for r in full if r["model"] == "anthropic/claude-haiku-4-5")
    assert traces[ok["trace_id"]]["output_text"] == ok["output"] and "question" in ok["output"]
    # the dataset row travels with the trace, so an eval can compare the output with the expected one
    meta = traces[ok["trace_id"]]["metadata"]
    assert (meta["dataset"], meta["expected"], meta["batch_id"]) == ("questions v1", "x", out.batch_id)
    assert f"question {meta['dataset_row'] - 1}" == ok["variables"]["question"]

    j = batch.judged(acc, out.batch_id)
    assert len(j.grid) == 15 and set(j.grid["model"]) == set(MODELS)
    assert j.grid[j.grid["model"] == "openai/missing-model"]["failing"].all()


def test_missing_variable_is_refused_before_anything_is_sent(acc, openai_stub):
    pv = save_prompt(acc, template="{{question}} in {{language}}")
    ds = save_dataset(acc, ["a"])
    with pytest.raises(batch.BatchError, match=r"\{\{language\}\}.*no such column"):
        batch.plan_batch(acc, pv, ds, ["openai/gpt-4o-mini"])
    assert openai_stub.requests == []


def test_spend_limit_stops_cleanly_and_keeps_what_ran(acc, openai_stub, policy):
    pv = save_prompt(acc, max_tokens=20)  # an estimate near the real cost: the limit is met within a few calls
    ds = save_dataset(acc, [f"question {i}" for i in range(20)])
    plan = batch.plan_batch(acc, pv, ds, ["openai/gpt-4o-mini"])
    per_call = plan.cell_cost[(0, "openai/gpt-4o-mini")]
    limit = per_call * 3.5
    # one call at a time: the stop comes exactly when spent + the next estimate passes the limit
    out = batch.run_batch(acc, plan, max_cost_usd=limit, policy=policy, concurrency=1)
    assert out.status == "stopped" and "spend limit" in out.stop_reason
    assert 0 < out.done < 20
    assert len(openai_stub.requests) == out.done  # no call was sent past the limit
    assert out.spent_usd <= limit
    # the next call would have passed the limit (spent + its estimate), so the stop was not early
    assert out.spent_usd + per_call > limit - 1e-12
    assert len(run_store.list_runs(acc, batch_id=out.batch_id)) == out.done
    stored = batch.judged(acc, out.batch_id).batch
    assert (stored["status"], stored["done"]) == ("stopped", out.done)

    # several at once: calls in flight count with their estimates, so the spend never passes the limit
    many = batch.run_batch(acc, plan, max_cost_usd=limit, policy=policy, concurrency=8)
    assert many.status == "stopped" and 0 < many.done < 20 and many.spent_usd <= limit


def test_cancel_keeps_the_calls_that_ran(db, analyst, default_ws, acc, openai_stub):
    from forge import batch_jobs

    openai_stub.delay = 0.2
    pv = save_prompt(acc)
    ds = save_dataset(acc, [f"q{i}" for i in range(40)])
    batch_id, job = batch_jobs.start_batch(
        db, analyst, default_ws.id, pv.id, ds.id, ["openai/gpt-4o-mini"], concurrency=2
    )
    for _ in range(100):
        if len(openai_stub.requests) >= 4:
            break
        jobs.wait(db, analyst, default_ws.id, job.id, timeout=0.05)
    assert jobs.cancel(db, analyst, default_ws.id, job.id)
    done = jobs.wait(db, analyst, default_ws.id, job.id, timeout=30)
    assert done.status == "cancelled"
    j = batch.judged(acc, batch_id)
    assert j.batch["status"] == "cancelled"
    kept = len(run_store.list_runs(acc, batch_id=batch_id))
    assert 0 < kept < 40 and kept == j.batch["done"] == len(openai_stub.requests)


def test_concurrency_setting(monkeypatch):
    monkeypatch.setenv("FORGE_BATCH_CONCURRENCY", "7")
    assert batch.concurrency_limit() == 7
    assert batch.concurrency_limit(3) == 3
    monkeypatch.setenv("FORGE_BATCH_CONCURRENCY", "lots")
    with pytest.raises(batch.BatchError, match="FORGE_BATCH_CONCURRENCY"):
        batch.concurrency_limit()


def test_wilson_matches_the_formula():
    z = 1.959963984540054
    n, k = 6, 4
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    rate = batch.wilson(k, n)
    assert rate.value == pytest.approx(4 / 6)
    assert (rate.low, rate.high) == (pytest.approx(centre - half), pytest.approx(centre + half))


def test_deleting_the_workspace_clears_datasets_and_batches(db, admin, acc, policy):
    from forge.store.workspaces import delete_workspace

    pv = save_prompt(acc)
    ds = save_dataset(acc, ["a", "b"])
    batch.run_batch(acc, batch.plan_batch(acc, pv, ds, ["offline/echo"]), policy=policy)
    tables = ("datasets", "dataset_versions", "batches", "batch_cells")
    assert all(db.scalar(f"SELECT count(*) FROM {t}") for t in tables)
    delete_workspace(db, acc.workspace_id)
    assert [db.scalar(f"SELECT count(*) FROM {t}") for t in tables] == [0, 0, 0, 0]


def test_another_workspace_sees_no_dataset_or_batch(db, admin, acc, outsider, policy):
    from forge import auth
    from forge.library import datasets

    pv = save_prompt(acc)
    ds = save_dataset(acc, ["a"])
    out = batch.run_batch(acc, batch.plan_batch(acc, pv, ds, ["offline/echo"]), policy=policy)
    other = auth.resolve_access(db, outsider, "otto-space", "edit")
    assert datasets.list_datasets(other) == []
    with pytest.raises(LookupError):
        datasets.open_dataset(other, "questions")
    with pytest.raises(LookupError):
        datasets.open_version_id(other, ds.id)
    with pytest.raises(LookupError):
        batch.judged(other, out.batch_id)
    assert run_store.list_runs(other) == []


def test_a_viewer_cannot_run_a_batch(db, admin, default_ws, acc, policy):
    from forge import auth

    viewer = auth.create_user(db, admin, "vic", "correct horse battery staple", "viewer", "Vic Viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    read_only = auth.access(db, viewer, default_ws.id, "read")
    plan = batch.plan_batch(read_only, save_prompt(acc), save_dataset(acc, ["a"]), ["offline/echo"])
    with pytest.raises(auth.PermissionDenied):
        batch.run_batch(read_only, plan, policy=policy)
    assert batch_store.list_batches(read_only) == []
