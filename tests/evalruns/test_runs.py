"""Stored eval runs: results per (eval version, trace), kept across versions, isolation recorded."""

from __future__ import annotations

import pytest

from forge import auth
from forge.evals import runs
from forge.evals.sandbox import isolation_status
from forge.review.labels import human_labels
from forge.store import eval_results as result_store
from forge.store import evals as eval_store
from forge.store import ratings as rating_store
from tests.evalruns.conftest import CITES, RAISES, seed_workspace


def test_a_run_keeps_a_verdict_per_eval_and_trace_of_the_set(access, seeded):
    es = seeded["eval_set"]
    stored = runs.run_stored(access, es["id"])
    assert stored.status == "done"
    # The set's traces are the 20 rated ones; the candidate "raises" eval is not current.
    assert (stored.traces, stored.evals, stored.done) == (20, 2, 40)
    cites = eval_store.versions(access, seeded["cites"].id)[0]
    results = result_store.version_results(access, cites.id)
    assert set(results) == set(seeded["ids"][:20])
    for i, tid in enumerate(seeded["ids"][:20]):
        assert results[tid]["verdict"] is (i % 2 == 0)
        assert results[tid]["reason"] == ("cites a source" if i % 2 == 0 else "no citation")
        assert results[tid]["error"] is None and results[tid]["duration_ms"] >= 0
    run = result_store.get_run(access, stored.run_id)
    assert run.status == "done" and run.done == run.total == 40 and run.finished_at is not None
    assert run.isolation == isolation_status()[0] == stored.isolation


def test_workspace_scope_runs_every_trace(access, seeded):
    stored = runs.run_stored(access, seeded["eval_set"]["id"], scope="workspace")
    assert (stored.traces, stored.done) == (40, 80)
    counts = result_store.run_counts(access, stored.run_id)
    cites = eval_store.versions(access, seeded["cites"].id)[0].id
    assert counts[cites] == {"passed": 20, "failed": 20, "errors": 0}


def test_a_new_version_keeps_the_old_versions_results(access, seeded):
    es = seeded["eval_set"]
    runs.run_stored(access, es["id"], [seeded["cites"].id])
    v1 = eval_store.versions(access, seeded["cites"].id)[0]
    before = result_store.version_results(access, v1.id)
    # Version 2 fails everything; running it must not touch version 1's verdicts.
    v2 = eval_store.add_version(access, seeded["cites"].id, "def evaluate(trace):\n    return False, 'strict'\n")
    second = runs.run_stored(access, es["id"], [seeded["cites"].id])
    assert result_store.get_run(access, second.run_id).eval_version_ids == [v2.id]
    assert result_store.version_results(access, v1.id) == before
    after = result_store.version_results(access, v2.id)
    assert len(after) == 20 and all(r["verdict"] is False and r["reason"] == "strict" for r in after.values())


def test_errors_are_results_and_summary_agrees_with_labels(access, seeded):
    es = seeded["eval_set"]
    eval_ids = [seeded["cites"].id, seeded["raises"].id]
    stored = runs.run_stored(access, es["id"], eval_ids)
    summary = {s.name: s for s in runs.summarize(access, stored.run_id, human_labels(access, es["id"]).labels)}
    assert (summary["cites"].passed, summary["cites"].failed, summary["cites"].errors) == (10, 10, 0)
    m = summary["cites"].metrics
    assert (m.n, m.contradictions, m.accuracy.value, m.kappa.value) == (20, 0, 1.0, 1.0)
    raised = summary["raises"]
    assert (raised.passed, raised.failed, raised.errors) == (0, 0, 20)
    assert raised.metrics.errors == 20 and raised.metrics.n == 0
    v = eval_store.versions(access, seeded["raises"].id)[0]
    assert "KeyError" in next(iter(result_store.version_results(access, v.id).values()))["error"]


def test_reduced_isolation_is_recorded(access, seeded, monkeypatch):
    monkeypatch.setenv("FORGE_SANDBOX", "reduced")
    stored = runs.run_stored(access, seeded["eval_set"]["id"])
    assert stored.isolation == "reduced" and stored.missing
    assert result_store.get_run(access, stored.run_id).isolation == "reduced"


def test_pages_stream_the_traces(access, seeded):
    pages = []
    stored = runs.run_stored(
        access,
        seeded["eval_set"]["id"],
        scope="workspace",
        page_size=7,
        on_results=lambda evals, page, verdicts: pages.append(len(page)),
    )
    assert pages == [7, 7, 7, 7, 7, 5] and stored.done == 80
    pages_read = list(result_store.iter_scope_traces(access, seeded["eval_set"]["id"], "workspace", 16))
    ids = [t["id"] for page in pages_read for t in page]
    assert sorted(ids) == sorted(seeded["ids"]) and [len(p) for p in pages_read] == [16, 16, 8]
    in_set = [
        t["id"] for page in result_store.iter_scope_traces(access, seeded["eval_set"]["id"], "set", 6) for t in page
    ]
    assert sorted(in_set) == sorted(seeded["ids"][:20])


def test_nothing_to_run_is_a_clear_error(access, seeded):
    es = seeded["eval_set"]
    for e in (seeded["cites"], seeded["long_enough"]):
        eval_store.set_status(access, e.id, "rejected")
    with pytest.raises(runs.RunError, match="no evals to run"):
        runs.run_stored(access, es["id"])
    empty = eval_store.create_eval(access, es["id"], "fresh", CITES)
    bare = rating_store.get_or_create_eval_set(access, "Bare", "")
    eval_store.create_eval(access, bare["id"], "x", CITES)
    with pytest.raises(runs.RunError, match="No traces"):
        runs.run_stored(access, bare["id"])
    assert runs.run_stored(access, es["id"], [empty.id]).done == 20


def test_results_stay_in_their_workspace(db, admin, access, seeded):
    other_ws = auth.create_workspace(db, admin, "elsewhere")
    other = auth.access(db, admin, other_ws.id, "edit")
    theirs = seed_workspace(other, n_traces=10, n_rated=10, prefix="o")
    mine = runs.run_stored(access, seeded["eval_set"]["id"])
    runs.run_stored(other, theirs["eval_set"]["id"])
    assert result_store.get_run(other, mine.run_id) is None
    assert result_store.run_counts(other, mine.run_id) == {}
    assert [r.id for r in result_store.list_runs(access)] == [mine.run_id]
    # Another workspace's version id gives nothing here, and its traces are never read.
    theirs_v = eval_store.versions(other, theirs["cites"].id)[0].id
    assert result_store.version_results(access, theirs_v) == {}
    assert result_store.current_evals(access, theirs["eval_set"]["id"]) == []
    rows = {
        "eval_version_id": [theirs_v],
        "trace_id": [theirs["ids"][0]],
        "verdict": [True],
        "reason": [None],
        "error": [None],
        "duration_ms": [1.0],
    }
    assert result_store.store_results(access, mine.run_id, rows) == 0  # not a trace of this workspace


def test_viewer_cannot_run(db, admin, default_ws, seeded):
    auth.create_user(db, admin, "vera", "correct horse battery staple", "viewer", "Vera")
    auth.add_member(db, admin, default_ws.id, "vera")
    viewer = auth.access(db, auth.get_user(db, "vera"), default_ws.id, "read")
    with pytest.raises(auth.PermissionDenied):
        runs.run_stored(viewer, seeded["eval_set"]["id"])


def test_sample_mixes_passes_and_fails_and_try_it_stores_nothing(access, seeded):
    es = seeded["eval_set"]
    labels = human_labels(access, es["id"]).labels
    sample = runs.pick_sample(access, es["id"], labels, k=6, seed=3)
    assert len(sample) == 6
    assert sorted(labels[t["id"]] for t in sample) == ["fail"] * 3 + ["pass"] * 3
    assert runs.pick_sample(access, es["id"], labels, k=6, seed=3) == sample  # seeded
    outcome = runs.try_eval(CITES, sample)
    for trace, v in zip(sample, outcome.verdicts["draft"], strict=True):
        assert v.verdict is (labels[trace["id"]] == "pass")
    assert runs.try_eval(RAISES, sample[:1]).verdicts["draft"][0].is_error
    assert result_store.list_runs(access) == []
