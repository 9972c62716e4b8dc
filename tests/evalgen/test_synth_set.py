"""`forge eval synth --eval-set`: synthesis over a stored set, end to end into the store, through the sandbox."""

from __future__ import annotations

from forge.evals import authoring
from forge.store import evals as eval_store


def test_synthesis_on_a_set_keeps_the_placeholder_rule_and_rejects_the_rest(admin_access, placeholder_es):
    es, _ = placeholder_es
    summary = authoring.synthesise_set(admin_access, es["id"], seed=0)

    assert summary["status"] == "done" and summary["ratings"] == 60 and summary["fails"] == 20
    assert summary["method"].startswith("5-fold")
    kept = [c for c in summary["candidates"] if c["kept"]]
    assert kept and any("placeholder" in c["description"] for c in kept)
    # The set's held-out figures with 95 % intervals, the floor and the ceiling are all there.
    figs = summary["set_metrics"]
    assert figs["kappa"] >= 0.9 and figs["accuracy_interval"][0] < figs["accuracy"] <= figs["accuracy_interval"][1]
    assert summary["baseline"]["kappa"] in (0.0, None) and summary["baseline"]["accuracy"] < figs["accuracy"]
    assert summary["ceiling"]["kappa"] is None and summary["ceiling"]["text"] == "no second rater yet"

    stored = eval_store.evals_with_current(admin_access, es["id"])
    assert {r["status"] for r in stored} == {"kept", "rejected"}
    assert all(r["origin"] == "synth" and r["version"] == 1 for r in stored)
    best = next(r for r in stored if r["status"] == "kept")
    assert (
        best["metrics"]["kappa"]
        == next(c for c in summary["candidates"] if c["eval_id"] == best["id"])["metrics"]["kappa"]
    )
    assert best["generation"]["status"] == "synthesised"
    rejected = [r for r in stored if r["status"] == "rejected"]
    assert rejected and all(r["metrics"] and r["note"] for r in rejected)  # their figures and why
    # One record of the run, with the set-level figures.
    runs = eval_store.list_generations(admin_access, es["id"])
    assert runs[0]["kind"] == "synth" and runs[0]["summary"]["set_metrics"]["kappa"] == figs["kappa"]
