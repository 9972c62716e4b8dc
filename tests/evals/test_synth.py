"""Synthesis without an LLM: the right rule is found, sources follow the contract and compute exactly
what the search computed."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from forge.evals import features as F
from forge.evals.contract import ALLOWED_IMPORTS
from forge.evals.synth import FeatureTable, build_candidates, render_eval
from tests.evals.handmade import long_fails_set, placeholder_set
from tests.evals.inprocess import run_in_process


def _imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


def test_placeholder_rule_found_and_source_follows_the_contract():
    traces, labels = placeholder_set()
    candidates = build_candidates(traces, labels)
    best = candidates["best_rule"]
    assert best.train_kappa == pytest.approx(1.0)
    assert "placeholder_count(trace, 'output')" in best.source
    assert _imports(best.source) <= ALLOWED_IMPORTS
    verdicts = run_in_process({"best": best.source}, traces)["best"]
    assert [v.verdict for v in verdicts] == labels
    failed = next(v for v, ok in zip(verdicts, labels, strict=True) if not ok)
    assert "unfilled placeholders in the output above 0.5" in failed.reason


def test_long_fails_rule_found():
    traces, labels = long_fails_set()
    best = build_candidates(traces, labels)["best_rule"]
    assert best.train_kappa == pytest.approx(1.0)
    assert "word_count(trace, 'output')" in best.source
    cut = best.rule.conditions[0].cut
    assert 50 < cut < 80 and best.rule.conditions[0].fails_above


def test_one_class_gives_no_candidates():
    traces, labels = placeholder_set()
    assert build_candidates(traces, [True] * len(labels)) == {}


def test_feature_catalogue_only_uses_allowed_imports_and_renders_standalone():
    modules, helpers = F.source_of([f.function for f in F.BASE_FEATURES] + [F.phrase_count, F.tokens])
    assert set(modules) <= ALLOWED_IMPORTS
    namespace: dict = {}
    exec(compile("\n".join(f"import {m}" for m in modules) + "\n\n" + helpers, "features", "exec"), namespace)
    trace = {
        "input_text": "Price in 2020?",
        "output_text": "It was 3,000 dollars in 2021 [name].\n- a\n- b",
        "steps": [{"level": "ERROR"}],
        "latency_ms": 120.0,
    }
    for feature in F.BASE_FEATURES:
        generated = namespace[feature.function.__name__](trace, *feature.args)
        assert generated == feature.value(trace), feature.name


def test_generated_sources_compute_what_the_search_computed(halueval):
    traces, labels = halueval
    rng = np.random.default_rng(5)
    sample = sorted(rng.choice(len(traces), 500, replace=False).tolist())
    train = [traces[i] for i in sample[:350]]
    test = [traces[i] for i in sample[350:]]
    table = FeatureTable()
    candidates = build_candidates(train, [labels[i] for i in sample[:350]], table=table)
    assert {"best_rule", "pair", "logistic"} <= set(candidates)
    verdicts = run_in_process({n: c.source for n, c in candidates.items()}, test)
    for name, candidate in candidates.items():
        expected = ~candidate.rule.fails(table, test)
        got = np.array([v.verdict for v in verdicts[name]])
        assert (got == expected).all(), name
        assert _imports(candidate.source) <= ALLOWED_IMPORTS


def test_combined_source_fails_when_any_rule_fails():
    traces, labels = placeholder_set()
    long_traces, long_labels = long_fails_set()
    a = build_candidates(traces, labels)["best_rule"].rule
    b = build_candidates(long_traces, long_labels)["best_rule"].rule
    source = render_eval([a, b])
    verdicts = run_in_process({"both": source}, traces + long_traces)["both"]
    assert [v.verdict for v in verdicts] == labels + long_labels
    assert source.count("def word_count(") == 1 and "check_2" in source


def test_deterministic_for_the_same_input(halueval):
    traces, labels = halueval
    first = build_candidates(traces[:300], labels[:300], seed=1)
    second = build_candidates(traces[:300], labels[:300], seed=1)
    assert {n: c.source for n, c in first.items()} == {n: c.source for n, c in second.items()}


def test_synth_file_writes_one_eval_from_a_rating_field(tmp_path):
    import json

    from forge.evals.synthfile import synth_file

    traces, labels = placeholder_set(60)
    path = tmp_path / "rated.jsonl"
    rows = [
        {"id": t["id"], "input": t["input_text"], "output": t["output_text"], "rating": "up" if ok else "down"}
        for t, ok in zip(traces, labels, strict=True)
    ]
    rows.append({"id": "n1", "input": "x", "output": "y [name]", "rating": "neutral"})
    rows.append({"id": "u1", "input": "x", "output": "y"})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    out = tmp_path / "eval.py"
    summary = synth_file(path, out, runner=run_in_process)
    assert summary["out"] == str(out) and (summary["rated"], summary["neutral"], summary["unlabelled"]) == (60, 1, 1)
    assert summary["errors"] and summary["errors"][0]["line"] == 63
    assert summary["held_out"]["kappa"] == pytest.approx(1.0) and summary["baseline"]["kappa"] == 0.0
    source = out.read_text()
    assert "placeholder_count(trace, 'output')" in source and "held-out" in source
    assert _imports(source) <= ALLOWED_IMPORTS
    check = [{"output_text": "Hello [name], thanks"}, {"output_text": "Hello Ann, thanks"}]
    assert [v.verdict for v in run_in_process({"e": source}, check)["e"]] == [False, True]


def test_synth_file_refuses_a_file_without_both_classes(tmp_path):
    from forge.evals.synthfile import SynthInputError, synth_file

    path = tmp_path / "one.jsonl"
    path.write_text('{"input": "a", "output": "b", "rating": "pass"}\n{"input": "c", "output": "d", "rating": 1}\n')
    with pytest.raises(SynthInputError, match="0 fail"):
        synth_file(path, tmp_path / "e.py", runner=run_in_process)
    with pytest.raises(SynthInputError, match="cannot read"):
        synth_file(tmp_path / "missing.jsonl", tmp_path / "e.py", runner=run_in_process)


@pytest.mark.parametrize(
    "make_fail, expected",
    [
        (
            lambda t: t["steps"].append({"id": "s2", "level": "ERROR", "status_message": "tool timed out"}),
            "step_count_at_level(trace, 'ERROR')",
        ),
        (lambda t: t.update(latency_ms=9000.0 + len(t["id"])), "latency_ms(trace)"),
        (lambda t: t.update(output_text='{"answer": "ok", "sources": []}'), "json_valid(trace, 'output')"),
    ],
)
def test_step_latency_and_json_rules_found(make_fail, expected):
    traces, labels = long_fails_set(40, seed=3)
    for i, trace in enumerate(traces):
        trace.update(
            output_text=f"Answer number {i % 7}.",
            latency_ms=800.0 + 10 * (i % 9),
            steps=[{"id": "s1", "level": "DEFAULT"}],
        )
        labels[i] = i % 4 != 0
        if not labels[i]:
            make_fail(trace)
    best = build_candidates(traces, labels)["best_rule"]
    assert best.train_kappa == pytest.approx(1.0) and expected in best.source
    assert [v.verdict for v in run_in_process({"b": best.source}, traces)["b"]] == labels
