"""Eval-vs-human metrics against hand-computed values (fail is the positive class)."""

from __future__ import annotations

import pytest

from forge.evals.contract import Verdict
from forge.evals.metrics import (
    combine_all_pass,
    eval_agreement_matrix,
    eval_metrics,
    majority_baseline,
    minimal_eval_set,
)

# caught 3 (eval fail, human fail), false failures 1, missed 2, agreed passes 4
VERDICTS = [False] * 3 + [False] + [True] * 2 + [True] * 4
LABELS = [False] * 3 + [True] + [False] * 2 + [True] * 4


def test_confusion_figures_and_wilson_intervals():
    m = eval_metrics(VERDICTS, LABELS)
    assert (m.n, m.caught, m.false_failures, m.missed, m.agreed_passes, m.contradictions) == (10, 3, 1, 2, 4, 3)
    assert m.accuracy.value == pytest.approx(0.7)
    # Wilson 95 % for 7/10 by hand: centre 0.64449, half-width 0.24772
    assert (m.accuracy.low, m.accuracy.high) == (pytest.approx(0.3968, abs=1e-4), pytest.approx(0.8922, abs=1e-4))
    assert m.precision.value == pytest.approx(3 / 4)
    assert m.recall.value == m.coverage.value == pytest.approx(3 / 5)
    assert m.false_failure_rate.value == pytest.approx(1 / 5)
    assert m.f1.value == pytest.approx(6 / 9)
    # observed 0.7, chance (4*5 + 6*5)/100 = 0.5 -> kappa 0.4
    assert m.kappa.value == pytest.approx(0.4)
    assert m.kappa.low < 0.4 < m.kappa.high and m.f1.low < 6 / 9 < m.f1.high


def test_errors_and_unrated_are_counted_apart_and_verdict_objects_accepted():
    verdicts = [Verdict(v) for v in VERDICTS] + [Verdict.failed("boom"), Verdict(True), Verdict(False)]
    labels = LABELS + [True, None, "fail"]
    m = eval_metrics(verdicts, labels)
    assert (m.n, m.errors, m.unrated, m.caught) == (11, 1, 1, 4)


def test_bootstrap_is_seeded_and_interval_shrinks_with_more_data():
    a = eval_metrics(VERDICTS, LABELS, seed=3)
    b = eval_metrics(VERDICTS, LABELS, seed=3)
    assert a.kappa == b.kappa
    big = eval_metrics(VERDICTS * 100, LABELS * 100)
    assert big.kappa.value == pytest.approx(0.4)
    assert big.kappa.high - big.kappa.low < (a.kappa.high - a.kappa.low) / 5


def test_majority_baseline_and_undefined_kappa():
    base = majority_baseline([True] * 7 + [False] * 3)
    assert base.accuracy.value == pytest.approx(0.7)
    assert base.kappa.value == 0.0  # a constant eval agrees no better than chance
    assert majority_baseline([True] * 5).kappa.value is None  # one class on both sides: undefined
    assert base.recall.value == 0.0 and base.precision.value is None


def test_combine_all_pass():
    assert combine_all_pass([[True, True, False, None, None], [True, False, None, True, None]]) == [
        True,
        False,
        False,
        None,
        None,
    ]


def test_minimal_eval_set_exact_hand_computed():
    # human labels: fails at 0..3, passes at 4..9
    labels = [False] * 4 + [True] * 6
    evals = {
        "a": [False, False, True, True] + [True] * 6,  # catches 0,1; no false failure
        "b": [True, True, False, True] + [False] + [True] * 5,  # catches 2; one false failure (1/6)
        "c": [False] * 4 + [False, False] + [True] * 4,  # catches all; 2/6 false failures
        "d": [False, True, True, True] + [True] * 6,  # catches 0 only: redundant with a
    }
    best = minimal_eval_set(evals, labels, max_false_failure=0.2)
    assert best.evals == ["a", "b"] and best.exact
    assert (best.caught, best.human_fails, best.false_failures) == (3, 4, 1)
    assert best.coverage == pytest.approx(0.75) and best.false_failure_rate == pytest.approx(1 / 6)
    strict = minimal_eval_set(evals, labels, max_false_failure=0.0)
    assert strict.evals == ["a"]
    loose = minimal_eval_set(evals, labels, max_false_failure=0.5)
    assert loose.evals == ["c"] and loose.coverage == 1.0


def test_minimal_eval_set_greedy_beyond_fifteen():
    labels = [False] * 20 + [True] * 20
    evals = {f"e{i:02d}": [j != i for j in range(20)] + [True] * 20 for i in range(20)}
    best = minimal_eval_set(evals, labels, max_false_failure=0.1)
    assert not best.exact and len(best.evals) == 20 and best.coverage == 1.0


def test_eval_agreement_matrix():
    pairs = eval_agreement_matrix(
        {
            "x": [True, True, False, False, None],
            "y": [True, False, False, False, True],
            "z": [True, True, False, False, False],
        }
    )
    by = {(p.eval_a, p.eval_b): p for p in pairs}
    assert by["x", "z"].agreement == 1.0 and by["x", "z"].kappa == pytest.approx(1.0) and by["x", "z"].n == 4
    assert by["x", "y"].agreement == pytest.approx(0.75) and by["x", "y"].n == 4
    # x vs y: table fail/fail 2, x pass y fail 1, pass/pass 1 -> po .75, pe (2*3+2*1)/16 = .5 -> kappa .5
    assert by["x", "y"].kappa == pytest.approx(0.5)
