"""Human-human agreement against published worked examples and hand-computed values."""

from __future__ import annotations

import random
import time

import pytest

from forge.review.agreement import agreement, fleiss_kappa_of_counts, resolved_labels


def _two_raters(table: dict[tuple[str, str], int]) -> list[tuple[str, str, str]]:
    records, n = [], 0
    for (a, b), count in table.items():
        for _ in range(count):
            records += [(f"t{n}", "ann", a), (f"t{n}", "bob", b)]
            n += 1
    return records


def test_cohen_kappa_wikipedia_example():
    # Wikipedia "Cohen's kappa": 50 proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> kappa 0.4
    records = _two_raters({("pass", "pass"): 20, ("pass", "fail"): 5, ("fail", "pass"): 10, ("fail", "fail"): 15})
    report = agreement(records)
    (pair,) = report.pairs
    assert (pair.rater_a, pair.rater_b, pair.n_shared) == ("ann", "bob", 50)
    assert pair.percent_agreement == pytest.approx(0.7)
    assert pair.kappa == pytest.approx(0.4)
    assert len(report.disagreements) == 15
    assert report.fleiss_kappa is None  # two raters: Cohen's, not Fleiss'


def test_krippendorff_alpha_binary_worked_example():
    # Krippendorff (2011) "Computing Krippendorff's alpha-reliability", A: binary data, two observers -> 0.095
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    name = {0: "fail", 1: "pass"}
    records = [(f"u{i}", "A", name[x]) for i, x in enumerate(a)] + [(f"u{i}", "B", name[y]) for i, y in enumerate(b)]
    report = agreement(records)
    assert report.krippendorff_alpha == pytest.approx(1 - 19 * 4 / (14 * 6), abs=1e-9)
    assert round(report.krippendorff_alpha, 3) == 0.095
    assert report.krippendorff_n_items == 10


def test_fleiss_kappa_hand_computed_and_only_on_traces_everyone_rated():
    # items (passes of 3): 3, 2, 0, 1 -> P-bar 2/3, Pe 1/2, kappa 1/3
    records = []
    for item, passes in enumerate([3, 2, 0, 1]):
        for r, rater in enumerate(["r1", "r2", "r3"]):
            records.append((f"t{item}", rater, "pass" if r < passes else "fail"))
    records += [("only-two", "r1", "pass"), ("only-two", "r2", "fail"), ("only-two", "r3", "neutral")]
    report = agreement(records)
    assert report.fleiss_kappa == pytest.approx(1 / 3)
    assert report.fleiss_n_items == 4  # the trace r3 rated neutral is not rated by all three
    assert {p.n_shared for p in report.pairs if {p.rater_a, p.rater_b} == {"r1", "r2"}} == {5}
    assert report.krippendorff_n_items == 5


def test_neutral_is_excluded_everywhere():
    records = [
        ("t1", "a", "pass"),
        ("t1", "b", "neutral"),
        ("t2", "a", "fail"),
        ("t2", "b", "fail"),
        ("t3", "a", "pass"),
        ("t3", "b", "pass"),
    ]
    report = agreement(records)
    assert report.pairs[0].n_shared == 2
    assert report.pairs[0].percent_agreement == 1.0
    assert report.disagreements == []


def test_resolved_labels_resolution_then_majority_ties_left_out():
    records = [
        ("maj", "a", "pass"),
        ("maj", "b", "pass"),
        ("maj", "c", "fail"),
        ("tie", "a", "pass"),
        ("tie", "b", "fail"),
        ("tie", "c", "neutral"),
        ("res", "a", "pass"),
        ("res", "b", "fail"),
        ("solo", "a", "fail"),
        ("neutral-only", "a", "neutral"),
    ]
    out = resolved_labels(records, {"res": "fail"})
    assert out.labels == {"maj": "pass", "res": "fail", "solo": "fail"}
    assert out.ties == ["tie"]
    assert out.resolved == ["res"]
    report = agreement(records)
    assert [d.trace_id for d in report.disagreements] == ["maj", "res", "tie"]
    assert report.disagreements[-1].ratings == {"a": "pass", "b": "fail", "c": "neutral"}


def test_last_rating_of_a_rater_wins_and_bad_values_are_named():
    out = resolved_labels([("t", "a", "pass"), ("t", "a", "fail")])
    assert out.labels == {"t": "fail"}
    with pytest.raises(ValueError, match="thumbs"):
        agreement([("t", "a", "thumbs")])


def test_five_raters_ten_thousand_traces_under_a_second():
    rng = random.Random(1)
    records = []
    for t in range(10_000):
        truth = rng.random() < 0.7
        for r in range(5):
            if rng.random() < 0.9:  # raters rate different subsets
                value = truth if rng.random() < 0.85 else not truth
                records.append({"trace_id": f"t{t}", "rater": f"r{r}", "value": "pass" if value else "fail"})
    start = time.perf_counter()
    report = agreement(records)
    labels = resolved_labels(records)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    assert len(report.pairs) == 10
    assert 0.3 < report.krippendorff_alpha < 0.7
    assert report.fleiss_kappa is not None and report.fleiss_n_items > 5000
    assert len(labels.labels) + len(labels.ties) == 10_000


def test_fleiss_kappa_wikipedia_example():
    # Wikipedia "Fleiss' kappa": 10 subjects, 14 raters, 5 categories -> 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert round(fleiss_kappa_of_counts(table), 3) == 0.210
    assert fleiss_kappa_of_counts([[3, 0], [3, 0]]) is None
