"""How far an eval's verdicts agree with human labels (EvalGen's metrics), with 95 % intervals.

Convention: a verdict or label of ``True`` means pass. For detection figures the **positive class is
FAIL** (what an eval is there to catch): precision = share of the eval's fails the humans failed too,
recall = coverage = share of human fails the eval fails, F1 of the fail class, false-failure rate =
share of human passes the eval fails. Proportions get Wilson intervals (statsmodels); F1 and kappa a
seeded percentile bootstrap. A verdict of ``None`` is an eval error, a label of ``None`` an unrated
trace: both are counted apart and left out of every figure.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from forge.evals.contract import Verdict

BOOTSTRAP_SAMPLES = 2000


@dataclass(frozen=True, slots=True)
class Estimate:
    """A figure with its 95 % interval; all None when there is nothing to measure."""

    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class EvalMetrics:
    """One eval (or set of evals) against human labels; fail is the positive class."""

    n: int  # traces with both a verdict and a label
    contradictions: int
    errors: int  # verdict None (whatever the label)
    unrated: int  # label None (whatever the verdict)
    caught: int  # true positives: eval fail, human fail
    false_failures: int  # eval fail, human pass
    missed: int  # eval pass, human fail
    agreed_passes: int  # eval pass, human pass
    accuracy: Estimate
    precision: Estimate
    recall: Estimate
    f1: Estimate
    kappa: Estimate
    coverage: Estimate  # = recall of the fail class
    false_failure_rate: Estimate

    @property
    def human_fails(self) -> int:
        return self.caught + self.missed

    @property
    def human_passes(self) -> int:
        return self.false_failures + self.agreed_passes


def _verdict(value: bool | Verdict | None) -> bool | None:
    return value.verdict if isinstance(value, Verdict) else value


def _label(value: bool | str | None) -> bool | None:
    if isinstance(value, str):  # resolved labels are 'pass'/'fail'
        return {"pass": True, "fail": False}.get(value)
    return value


def wilson(count: int, total: int) -> Estimate:
    # statsmodels (with scipy) takes ~0.5 s to import: loaded when the first interval is computed, not with the module.
    from statsmodels.stats.proportion import proportion_confint

    if total == 0:
        return Estimate(None)
    low, high = proportion_confint(count, total, alpha=0.05, method="wilson")
    return Estimate(count / total, float(low), float(high))


def f1_and_kappa(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F1 of the fail class and Cohen's kappa from confusion counts (vectorised; NaN where undefined)."""
    tp, fp, fn, tn = (np.asarray(x, dtype=float) for x in (tp, fp, fn, tn))
    n = tp + fp + fn + tn
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
        observed = (tp + tn) / n
        expected = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
        kappa = np.where(np.isclose(expected, 1.0), np.nan, (observed - expected) / (1 - expected))
    return f1, kappa


def _bootstrap(tp: int, fp: int, fn: int, tn: int, seed: int) -> tuple[Estimate, Estimate]:
    """Percentile bootstrap of F1 and kappa.

    Resampling n traces with replacement is the same as drawing the four cell counts from a
    multinomial with the observed shares, so this costs the same for 100 traces or 1,000,000.
    """
    n = tp + fp + fn + tn
    f1, kappa = f1_and_kappa(np.array(tp), np.array(fp), np.array(fn), np.array(tn))
    if n == 0:
        return Estimate(None), Estimate(None)
    rng = np.random.default_rng(seed)
    cells = rng.multinomial(n, np.array([tp, fp, fn, tn], dtype=float) / n, size=BOOTSTRAP_SAMPLES)
    boot_f1, boot_kappa = f1_and_kappa(*cells.T)

    def estimate(point: np.ndarray, samples: np.ndarray) -> Estimate:
        if np.isnan(point):
            return Estimate(None)
        samples = samples[~np.isnan(samples)]
        if samples.size == 0:
            return Estimate(float(point))
        low, high = np.percentile(samples, [2.5, 97.5])
        return Estimate(float(point), float(low), float(high))

    return estimate(f1, boot_f1), estimate(kappa, boot_kappa)


def eval_metrics(
    verdicts: Sequence[bool | Verdict | None], labels: Sequence[bool | str | None], *, seed: int = 0
) -> EvalMetrics:
    """Agreement of verdicts with labels (same order, True/'pass' = pass); fail is the positive class."""
    if len(verdicts) != len(labels):
        raise ValueError(f"{len(verdicts)} verdicts for {len(labels)} labels")
    tp = fp = fn = tn = errors = unrated = 0
    for raw_verdict, raw_label in zip(verdicts, labels, strict=True):
        verdict, label = _verdict(raw_verdict), _label(raw_label)
        errors += verdict is None
        unrated += label is None
        if verdict is None or label is None:
            continue
        if not verdict:
            tp, fp = tp + (not label), fp + label
        else:
            fn, tn = fn + (not label), tn + label
    return eval_metrics_from_counts(tp, fp, fn, tn, errors, unrated, seed=seed)


def majority_baseline(labels: Sequence[bool | str | None], *, seed: int = 0) -> EvalMetrics:
    """The floor: an eval that always gives the labels' majority class (pass on a tie); its kappa is 0 or None."""
    clean = [_label(x) for x in labels]
    passes = sum(1 for x in clean if x is True)
    fails = sum(1 for x in clean if x is False)
    return eval_metrics([passes >= fails] * len(clean), clean, seed=seed)


def combine_all_pass(verdict_lists: Sequence[Sequence[bool | Verdict | None]]) -> list[bool | None]:
    """Per trace: pass when every eval passes, fail when any fails, None (error) when no eval fails but one errs."""
    if not verdict_lists:
        return []
    lengths = {len(v) for v in verdict_lists}
    if len(lengths) != 1:
        raise ValueError(f"verdict lists of different lengths: {sorted(lengths)}")
    combined: list[bool | None] = []
    for row in zip(*verdict_lists, strict=True):
        values = [_verdict(v) for v in row]
        if any(v is False for v in values):
            combined.append(False)  # one fail decides, whatever the others' errors
        elif any(v is None for v in values):
            combined.append(None)
        else:
            combined.append(True)
    return combined


@dataclass(frozen=True, slots=True)
class MinimalEvalSet:
    """EvalGen's selection: the fewest evals that catch the most human fails under a false-failure ceiling."""

    evals: list[str]
    coverage: float | None
    false_failure_rate: float | None
    caught: int
    human_fails: int
    false_failures: int
    human_passes: int
    exact: bool  # every subset was tried (15 evals or fewer); else greedy


EXACT_LIMIT = 15


def minimal_eval_set(
    verdicts_by_eval: Mapping[str, Sequence[bool | Verdict | None]],
    labels: Sequence[bool | str | None],
    max_false_failure: float = 0.1,
) -> MinimalEvalSet:
    """The smallest set of evals (combined: fail when any fails) with the highest coverage of human fails
    whose false-failure rate stays at or under ``max_false_failure``. An error verdict catches nothing."""
    names = sorted(verdicts_by_eval)
    clean = [_label(x) for x in labels]
    fail_rows = [i for i, x in enumerate(clean) if x is False]
    pass_rows = [i for i, x in enumerate(clean) if x is True]

    def bits(values: Sequence[bool | Verdict | None], rows: list[int]) -> int:
        # a trace set as a Python int bitset: OR and bit_count on 100,000 traces take microseconds
        out = 0
        for position, i in enumerate(rows):
            if _verdict(values[i]) is False:
                out |= 1 << position
        return out

    caught_bits = [bits(verdicts_by_eval[n], fail_rows) for n in names]
    false_bits = [bits(verdicts_by_eval[n], pass_rows) for n in names]
    n_fail, n_pass = len(fail_rows), len(pass_rows)

    def rate(count: int, total: int) -> float | None:
        return count / total if total else None

    def allowed(false_count: int) -> bool:
        return n_pass == 0 or false_count / n_pass <= max_false_failure + 1e-12

    best: tuple[int, int, int] | None = None  # (-caught, size, false)
    best_set: tuple[int, ...] = ()
    exact = len(names) <= EXACT_LIMIT
    if exact:
        caught_of = [0] * (1 << len(names))
        false_of = [0] * (1 << len(names))
        for mask in range(1, 1 << len(names)):
            low = (mask & -mask).bit_length() - 1
            rest = mask & (mask - 1)
            caught_of[mask] = caught_of[rest] | caught_bits[low]
            false_of[mask] = false_of[rest] | false_bits[low]
            false_count = false_of[mask].bit_count()
            if not allowed(false_count):
                continue
            members = tuple(i for i in range(len(names)) if mask >> i & 1)
            key = (-caught_of[mask].bit_count(), len(members), false_count)
            if best is None or key < best or (key == best and members < best_set):
                best, best_set = key, members
    else:
        chosen: list[int] = []
        caught_now = false_now = 0
        while True:
            options = []
            for i in range(len(names)):
                if i in chosen:
                    continue
                c, f = caught_now | caught_bits[i], false_now | false_bits[i]
                if allowed(f.bit_count()) and c.bit_count() > caught_now.bit_count():
                    options.append((-c.bit_count(), f.bit_count(), i, c, f))
            if not options:
                break
            _, _, i, caught_now, false_now = min(options)
            chosen.append(i)
        best_set = tuple(sorted(chosen))
    caught_union = false_union = 0
    for i in best_set:
        caught_union |= caught_bits[i]
        false_union |= false_bits[i]
    caught, false = caught_union.bit_count(), false_union.bit_count()
    return MinimalEvalSet(
        [names[i] for i in best_set], rate(caught, n_fail), rate(false, n_pass), caught, n_fail, false, n_pass, exact
    )


@dataclass(frozen=True, slots=True)
class EvalPairAgreement:
    """Two evals on the traces where neither erred: share of equal verdicts and Cohen's kappa."""

    eval_a: str
    eval_b: str
    n: int
    agreement: float | None
    kappa: float | None


def eval_agreement_matrix(verdicts_by_eval: Mapping[str, Sequence[bool | Verdict | None]]) -> list[EvalPairAgreement]:
    """Pairwise eval-vs-eval agreement (each unordered pair once, in name order): redundant evals agree near 1."""
    names = sorted(verdicts_by_eval)
    coded = {}
    for name in names:
        values = [_verdict(v) for v in verdicts_by_eval[name]]
        coded[name] = np.array([-1 if v is None else int(v) for v in values], dtype=np.int8)
    out = []
    for a, b in itertools.combinations(names, 2):
        x, y = coded[a], coded[b]
        if len(x) != len(y):
            raise ValueError(f"evals {a!r} and {b!r} have verdicts for different numbers of traces")
        both = (x >= 0) & (y >= 0)
        x, y = x[both], y[both]
        n = int(both.sum())
        # eval a as "rater 1", b as "rater 2"; fail = positive as everywhere here
        tp, fp = int(np.sum((x == 0) & (y == 0))), int(np.sum((x == 0) & (y == 1)))
        fn, tn = int(np.sum((x == 1) & (y == 0))), int(np.sum((x == 1) & (y == 1)))
        _, kappa = f1_and_kappa(np.array(tp), np.array(fp), np.array(fn), np.array(tn)) if n else (None, np.nan)
        out.append(EvalPairAgreement(a, b, n, (tp + tn) / n if n else None, None if np.isnan(kappa) else float(kappa)))
    return out


def eval_metrics_from_counts(
    caught: int,
    false_failures: int,
    missed: int,
    agreed_passes: int,
    errors: int = 0,
    unrated: int = 0,
    *,
    seed: int = 0,
) -> EvalMetrics:
    """``eval_metrics`` from the confusion counts alone (counted elsewhere, e.g. in SQL over 1,000,000 traces):
    the same figures and intervals as passing the verdicts and labels those counts came from."""
    tp, fp, fn, tn = caught, false_failures, missed, agreed_passes
    f1, kappa = _bootstrap(tp, fp, fn, tn, seed)
    n = tp + fp + fn + tn
    return EvalMetrics(
        n=n,
        contradictions=fp + fn,
        errors=errors,
        unrated=unrated,
        caught=tp,
        false_failures=fp,
        missed=fn,
        agreed_passes=tn,
        accuracy=wilson(tp + tn, n),
        precision=wilson(tp, tp + fp),
        recall=wilson(tp, tp + fn),
        f1=f1,
        kappa=kappa,
        coverage=wilson(tp, tp + fn),
        false_failure_rate=wilson(fp, fp + tn),
    )
