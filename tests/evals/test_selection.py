"""Selection by held-out agreement: candidates are never scored on traces they were built from."""

from __future__ import annotations

from collections import Counter

import pytest

from forge.evals.selection import select_evals, stratified_folds
from forge.evals.synth import FeatureTable, build_candidates
from tests.evals.handmade import long_fails_set, placeholder_set
from tests.evals.inprocess import run_in_process


def _synth_builder():
    table = FeatureTable()
    return lambda traces, labels: build_candidates(traces, labels, table=table)


def test_stratified_folds_are_balanced_and_seeded():
    labels = [True] * 40 + [False] * 10
    folds = stratified_folds(labels, 5, seed=3)
    assert folds == stratified_folds(labels, 5, seed=3) and folds != stratified_folds(labels, 5, seed=4)
    assert Counter(f for f, ok in zip(folds, labels, strict=True) if not ok) == {k: 2 for k in range(5)}
    assert Counter(folds) == {k: 10 for k in range(5)}


def test_a_candidate_is_never_scored_on_traces_it_was_built_from():
    traces, labels = placeholder_set(45)
    builds: list[set[str]] = []
    scored: list[set[str]] = []
    synth = _synth_builder()

    def recording_builder(train, train_labels):
        builds.append({t["id"] for t in train})
        return synth(train, train_labels)

    def recording_runner(sources, test):
        scored.append({t["id"] for t in test})
        return run_in_process(sources, test)

    result = select_evals(traces, labels, recording_builder, recording_runner, folds=5, seed=0)
    assert result.folds == 5 and len(scored) == 5 and len(builds) == 6
    for built, tested in zip(builds[:5], scored, strict=True):
        assert built.isdisjoint(tested)
        assert built | tested == {t["id"] for t in traces}
    assert builds[5] == {t["id"] for t in traces}  # chosen candidates rebuilt on all ratings
    assert set().union(*scored) == {t["id"] for t in traces}


@pytest.mark.parametrize("make, feature", [(placeholder_set, "placeholder_count"), (long_fails_set, "word_count")])
def test_known_rule_is_chosen_with_right_held_out_figures(make, feature):
    traces, labels = make(60)
    result = select_evals(traces, labels, _synth_builder(), run_in_process, folds=5, seed=0)
    assert result.chosen
    assert f"{feature}(trace, 'output')" in result.chosen_sources[result.chosen[0]]
    top = result.candidates[0]
    assert top.kept and top.metrics.n == 60
    assert top.metrics.accuracy.value == 1.0 and top.metrics.kappa.value == pytest.approx(1.0)
    assert result.chosen_metrics.kappa.value == pytest.approx(1.0)
    assert result.baseline.kappa.value == 0.0
    assert any(not c.kept and c.reason for c in result.candidates)


def test_noisy_labels_give_the_noise_rate_as_held_out_error():
    traces, labels = placeholder_set(90)
    flipped = {5, 17, 40, 62, 83}  # passes marked fail by a careless rater: a perfect rule contradicts them
    labels = [(not ok) if i in flipped and ok else ok for i, ok in enumerate(labels)]
    result = select_evals(traces, labels, _synth_builder(), run_in_process, folds=5, seed=1)
    top = result.candidates[0]
    assert "placeholder_count" in top.source
    assert top.metrics.n == 90 and top.metrics.contradictions == 5
    assert top.metrics.false_failures == 0 and top.metrics.missed == 5
    assert top.metrics.accuracy.value == pytest.approx(85 / 90)


def test_too_few_ratings_warn_and_choose_nothing():
    traces, labels = placeholder_set(6)
    result = select_evals(traces, [True] * 5 + [False], _synth_builder(), run_in_process)
    assert result.chosen == [] and result.chosen_metrics is None
    assert any("fewer than 20" in w for w in result.warnings)
    assert any("at least two" in w for w in result.warnings)


def test_selection_on_halueval_subsample_beats_majority(halueval):
    traces, labels = halueval
    sample = list(range(0, len(traces), 9))[:500]
    result = select_evals(
        [traces[i] for i in sample], [labels[i] for i in sample], _synth_builder(), run_in_process, folds=3, seed=0
    )
    assert result.chosen and result.chosen_metrics.kappa.value > 0.1
    assert result.baseline.kappa.value == 0.0
    for c in result.candidates:
        assert c.metrics.n == 500 or not c.kept
