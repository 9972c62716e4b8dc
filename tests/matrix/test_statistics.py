"""Matrix statistics against values computed by hand on the known table (tests/matrix/conftest.py)."""

from __future__ import annotations

import math
import random
from datetime import datetime

import numpy as np
import pytest

from forge import matrix
from forge.evals import metrics
from forge.review.labels import human_labels
from tests.matrix.conftest import VERDICTS

Z = 1.959963984540054


def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval, written out (not through statsmodels)."""
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


@pytest.fixture
def stats(known):
    cols = matrix.columns(known.access, known.eval_set_id)
    return matrix.statistics(known.access, known.eval_set_id, cols, max_false_failure=0.25)


def by_eval(stats):
    return {s.column["label"]: s.metrics for s in stats.evals}


def test_alpha_figures_by_hand(stats):
    alpha = by_eval(stats)["alpha v2"]
    # labelled traces t0-t6 and t9; t9 erred; t7, t8 have no label
    assert (alpha.caught, alpha.false_failures, alpha.missed, alpha.agreed_passes) == (2, 1, 1, 3)
    assert (alpha.n, alpha.contradictions, alpha.errors, alpha.unrated) == (7, 2, 1, 2)
    assert alpha.accuracy.value == pytest.approx(5 / 7)
    assert (alpha.accuracy.low, alpha.accuracy.high) == pytest.approx(wilson(5, 7))
    assert alpha.precision.value == pytest.approx(2 / 3) and alpha.recall.value == pytest.approx(2 / 3)
    assert (alpha.recall.low, alpha.recall.high) == pytest.approx(wilson(2, 3))
    assert alpha.f1.value == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    # observed 5/7, chance ((3*3) + (4*4)) / 49 = 25/49 -> kappa = (35 - 25) / (49 - 25)
    assert alpha.kappa.value == pytest.approx(10 / 24)
    assert alpha.kappa.low < alpha.kappa.value < alpha.kappa.high
    assert alpha.false_failure_rate.value == pytest.approx(1 / 4)


def test_beta_is_worse_than_chance(stats):
    beta = by_eval(stats)["beta v1"]
    assert (beta.caught, beta.false_failures, beta.missed, beta.agreed_passes) == (1, 2, 3, 2)
    assert beta.contradictions == 5 and beta.errors == 0
    # observed 3/8, chance (3*4 + 5*4) / 64 = 1/2 -> kappa = -0.25
    assert beta.kappa.value == pytest.approx(-0.25)


def test_human_ceiling_by_hand(stats):
    # admin and bob share t0 (pass/pass), t4 (fail/fail), t8 (pass/fail): 2/3; kappa (6/9 - 4/9) / (5/9) = 0.4
    assert stats.human_agreement == pytest.approx(2 / 3)
    assert stats.human_kappa == pytest.approx(0.4)
    assert stats.labels == {"pass": 4, "fail": 4, "none": 2}
    table = matrix.stats_table(stats)
    ceiling = table[table["eval"] == "humans (ceiling)"].iloc[0]
    assert ceiling["accuracy"] == pytest.approx(2 / 3)


def test_minimal_set_by_hand(known, stats):
    # at 25 %: alpha (catches t4, t5; fails t2) + gamma (catches t6) cover 3 of 4 fails, 1 of 4 passes failed
    m = stats.minimal
    assert m.evals == ["alpha v2", "gamma v1"]
    assert (m.caught, m.human_fails, m.false_failures, m.human_passes) == (3, 4, 1, 4)
    assert m.coverage == pytest.approx(0.75) and m.false_failure_rate == pytest.approx(0.25)
    cols = matrix.columns(known.access, known.eval_set_id)
    strict = matrix.statistics(known.access, known.eval_set_id, cols, max_false_failure=0.1).minimal
    assert strict.evals == ["gamma v1"] and strict.coverage == pytest.approx(0.25)


def test_minimal_set_and_pairs_equal_the_metrics_module(stats):
    labels = ["pass"] * 4 + ["fail"] * 3 + [None, None, "fail"]
    named = {"alpha v2": VERDICTS["alpha"], "beta v1": VERDICTS["beta"], "gamma v1": VERDICTS["gamma"]}
    assert stats.minimal == metrics.minimal_eval_set(named, labels, 0.25)
    assert stats.pairs == metrics.eval_agreement_matrix(named)
    alpha_beta = next(p for p in stats.pairs if (p.eval_a, p.eval_b) == ("alpha v2", "beta v1"))
    assert (alpha_beta.n, alpha_beta.agreement) == (9, pytest.approx(5 / 9))


def test_weekly_agreement_by_hand(stats):
    week = stats.weekly.set_index(["week", "eval"])
    first = week.loc[(datetime(2026, 1, 5), "alpha v2")]
    assert (first["agreed"], first["contradicted"]) == (4, 1)  # t0 t1 t3 t4 agree, t2 contradicts
    second = week.loc[(datetime(2026, 1, 12), "beta v1")]
    assert (second["agreed"], second["contradicted"]) == (0, 3)  # t5, t6, t9 all contradicted
    assert second["agreement"] == 0.0


def test_sql_labels_are_the_shared_human_labels(known):
    cols = matrix.columns(known.access, known.eval_set_id)
    page = matrix.page(known.access, known.eval_set_id, cols, page_size=100)
    shared = human_labels(known.access, known.eval_set_id)
    assert {r["trace_id"]: r["label"] for r in page.rows} == {t: shared.labels.get(t) for t in known.trace_ids}
    assert [r["trace_id"] for r in page.rows if r["tie"]] == shared.ties


def test_counts_give_the_same_metrics_as_verdict_lists():
    rng = random.Random(3)
    verdicts = [rng.choice([True, False, None]) for _ in range(300)]
    labels = [rng.choice(["pass", "fail", None]) for _ in range(300)]
    full = metrics.eval_metrics(verdicts, labels)
    pairs = list(zip(verdicts, labels, strict=True))
    counted = metrics.eval_metrics_from_counts(
        pairs.count((False, "fail")),
        pairs.count((False, "pass")),
        pairs.count((True, "fail")),
        pairs.count((True, "pass")),
        errors=verdicts.count(None),
        unrated=labels.count(None),
    )
    assert counted == full


@pytest.mark.parametrize("n_evals", [5, 17])  # exact search, and the greedy one beyond 15 evals
def test_patterns_equal_metrics_on_random_tables(n_evals):
    rng = np.random.default_rng(n_evals)
    n = 400
    names = [f"e{i:02d}" for i in range(n_evals)]
    verdicts = {name: [[True, False, None][k] for k in rng.choice(3, n, p=[0.6, 0.3, 0.1])] for name in names}
    labels = [["pass", "fail", None][k] for k in rng.choice(3, n, p=[0.5, 0.4, 0.1])]

    def mask(i, want):
        return sum(1 << j for j, name in enumerate(names) if verdicts[name][i] is want)

    columns = {
        "label": np.array(labels, dtype=object),
        "week": np.array([None] * n, dtype="datetime64[us]"),
        "ran_mask": np.array([(1 << n_evals) - 1] * n),
        "pass_mask": np.array([mask(i, True) for i in range(n)]),
        "fail_mask": np.array([mask(i, False) for i in range(n)]),
        "traces": np.ones(n, dtype=np.int64),
    }
    pat = matrix.Patterns.of(columns)
    shuffled = names[::-1]  # columns in any order: the result is the same
    columns_rev = dict(columns)
    columns_rev["pass_mask"] = np.array(
        [sum(1 << j for j, nm in enumerate(shuffled) if verdicts[nm][i] is True) for i in range(n)]
    )
    columns_rev["fail_mask"] = np.array(
        [sum(1 << j for j, nm in enumerate(shuffled) if verdicts[nm][i] is False) for i in range(n)]
    )
    for ceiling in (0.05, 0.2):
        expected = metrics.minimal_eval_set(verdicts, labels, ceiling)
        assert pat.minimal_set(names, ceiling) == expected
        assert matrix.Patterns.of(columns_rev).minimal_set(shuffled, ceiling) == expected
    assert pat.pair_agreement(names) == metrics.eval_agreement_matrix(verdicts)
    for i, name in enumerate(names):
        assert metrics.eval_metrics_from_counts(**pat.counts(i)) == metrics.eval_metrics(verdicts[name], labels)


def test_decisive_lines_convention():
    source = "import re\nREFUND = re.compile(r'refund(ed)?')\n\n\ndef evaluate(trace):\n    return True\n"
    assert matrix.decisive_lines(source, "line 2 matched") == [2]
    assert matrix.decisive_lines(source, "see lines 5-6") == [5, 6]
    assert matrix.decisive_lines(source, "L1 and L2") == [1, 2]
    assert matrix.decisive_lines(source, "matched 'refund(ed)?' in the output") == [2]
    assert matrix.decisive_lines(source, "matched /refund(ed)?/") == [2]
    assert matrix.decisive_lines(source, "too long") == []
    assert matrix.decisive_lines(source, "line 99") == []  # no such line
    assert "# ◀ decided this verdict" in matrix.marked_source(source, [2]).splitlines()[1]
