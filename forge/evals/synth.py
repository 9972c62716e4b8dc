"""Synthesising evals without an LLM: candidate rules searched on rated traces, written as readable Python.

Candidates (each a complete eval source following the contract):
- ``rule:<feature>``: one threshold on one feature (length, structure, patterns, overlap, steps, cost);
- ``phrase:<side>:<phrase>``: a word or phrase whose presence separates fails from passes;
- ``pair``: the best AND / OR of two thresholds;
- ``logistic``: a compact logistic scorer over words, word pairs and the features, weights inlined.
Thresholds are chosen for Cohen's kappa with the human labels on the traces given (the training part);
which candidates to trust is decided elsewhere, on held-out traces (:mod:`forge.evals.selection`).
Deterministic: the same traces, labels and seed give the same sources.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import minimize

from forge.evals import features as F
from forge.evals.contract import ENTRY_POINT
from forge.evals.metrics import f1_and_kappa

MIN_KAPPA = 0.02  # a rule agreeing with humans no better than this on its own training traces is not offered
MAX_SINGLE_CANDIDATES = 12  # single-threshold candidates offered, best first
TOP_SINGLE = 10  # features whose best thresholds are tried in pairs
CUTS_PER_FEATURE = 24
PHRASES_PER_CLASS = 6
LOGISTIC_MIN_RATINGS = 40  # fewer ratings than this: no learned scorer (it cannot be checked held-out)


# ---------------------------------------------------------------- feature values of many traces


class FeatureTable:
    """Feature values of traces, computed once per trace (keyed by trace id) and reused across folds."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], float] = {}
        self._tokens: dict[str, frozenset[str]] = {}

    @staticmethod
    def _key(trace: dict) -> str | None:
        key = trace.get("id") or trace.get("source_id")
        return str(key) if key is not None else None

    def column(self, feature: F.Feature, traces: Sequence[dict]) -> np.ndarray:
        """Values of one feature (NaN where the feature is None)."""
        out = np.empty(len(traces), dtype=float)
        for i, trace in enumerate(traces):
            key = self._key(trace)
            cached = self._values.get((feature.name, key)) if key is not None else None
            if cached is None:
                value = feature.value(trace)
                cached = math.nan if value is None else float(value)
                if key is not None:
                    self._values[(feature.name, key)] = cached
            out[i] = cached
        return out

    def tokens(self, traces: Sequence[dict]) -> list[frozenset[str]]:
        """The scorer's tokens of each trace."""
        out = []
        for trace in traces:
            key = self._key(trace)
            found = self._tokens.get(key) if key is not None else None
            if found is None:
                found = frozenset(F.tokens(trace))
                if key is not None:
                    self._tokens[key] = found
            out.append(found)
        return out


# ---------------------------------------------------------------- rules


def _num(value: float) -> str:
    return f"{value:.6g}"


@dataclass(frozen=True)
class Condition:
    """Fails a trace when the feature's value is above (or below) ``cut``; no value: no evidence, passes."""

    feature: F.Feature
    cut: float
    fails_above: bool

    def fails(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return values > self.cut if self.fails_above else values < self.cut

    def test_source(self, var: str) -> str:
        return f"{var} is not None and {var} {'>' if self.fails_above else '<'} {self.cut!r}"

    def describe(self) -> str:
        return f"{self.feature.description} {'above' if self.fails_above else 'below'} {_num(self.cut)}"


@dataclass(frozen=True)
class ThresholdRule:
    """One condition, or two combined: ``any`` fails when either holds (passes when both pass), ``all`` when both."""

    conditions: tuple[Condition, ...]
    mode: str = "any"

    @property
    def functions(self) -> list:
        return [c.feature.function for c in self.conditions]

    def describe(self) -> str:
        joiner = " or " if self.mode == "any" else " and "
        return "fails when " + joiner.join(c.describe() for c in self.conditions)

    def fails(self, table: FeatureTable, traces: Sequence[dict]) -> np.ndarray:
        masks = [c.fails(table.column(c.feature, traces)) for c in self.conditions]
        return np.logical_or.reduce(masks) if self.mode == "any" else np.logical_and.reduce(masks)

    def render_check(self, name: str) -> str:
        lines = [f"def {name}(trace):", f'    """{self.describe().capitalize()}."""']
        tests = []
        for i, c in enumerate(self.conditions, 1):
            lines.append(f"    value_{i} = {c.feature.call_source()}  # {c.feature.description}")
            tests.append(f"({c.test_source(f'value_{i}')})")
        values = ", ".join(f"{{value_{i}!r}}" for i in range(1, len(self.conditions) + 1))
        names = ", ".join(c.feature.description for c in self.conditions)
        lines += [
            f"    if {(' or ' if self.mode == 'any' else ' and ').join(tests)}:",
            f'        return False, f"{self.describe()} ({names}: {values})"',
            f'    return True, f"within bounds ({names}: {values})"',
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class LogisticRule:
    """A logistic scorer: fails when intercept + token weights + scaled feature terms reach ``threshold``."""

    intercept: float
    threshold: float
    token_weights: dict[str, float]
    dense: tuple[tuple[F.Feature, float, float, float], ...]  # feature, mean, scale, weight (of log1p(value))
    n_ratings: int = 0

    @property
    def functions(self) -> list:
        return [F.tokens, *(f.function for f, *_ in self.dense)]

    def describe(self) -> str:
        return (
            f"logistic score over {len(self.token_weights)} words and word pairs and {len(self.dense)} features; "
            f"fails from {_num(self.threshold)}"
        )

    def scores(self, table: FeatureTable, traces: Sequence[dict]) -> np.ndarray:
        score = np.full(len(traces), self.intercept)
        for i, found in enumerate(table.tokens(traces)):
            score[i] += sum(self.token_weights.get(t, 0.0) for t in found)
        for feature, mean, scale, weight in self.dense:
            values = table.column(feature, traces)
            transformed = np.where(np.isnan(values), mean, np.log1p(np.maximum(values, 0.0)))
            score += weight * (transformed - mean) / scale
        return score

    def fails(self, table: FeatureTable, traces: Sequence[dict]) -> np.ndarray:
        return self.scores(table, traces) >= self.threshold

    def render_check(self, name: str) -> str:
        upper = name.upper()
        weights = "\n".join(
            f"    {t!r}: {w!r}," for t, w in sorted(self.token_weights.items(), key=lambda x: -abs(x[1]))
        )
        lines = [
            f"# {name}: {self.describe()}.",
            "# Tokens are 'i:' (input) or 'o:' (output) words and word pairs; positive weights push towards fail.",
            f"{upper}_WEIGHTS = {{\n{weights}\n}}",
            "",
            "",
            f"def {name}(trace):",
            f'    """{self.describe().capitalize()}."""',
            f"    score = {self.intercept!r}",
            f"    found = sorted(t for t in tokens(trace) if t in {upper}_WEIGHTS)",
            f"    score += sum({upper}_WEIGHTS[t] for t in found)",
        ]
        for feature, mean, scale, weight in self.dense:
            lines += [
                f"    value = {feature.call_source()}  # {feature.description}",
                f"    scaled = (math.log1p(max(value, 0.0)) - {mean!r}) / {scale!r} if value is not None else 0.0",
                f"    score += {weight!r} * scaled",
            ]
        lines += [
            f"    top = sorted(found, key=lambda t: -abs({upper}_WEIGHTS[t]))[:3]",
            f'    evidence = ", ".join(f"{{t}} {{{upper}_WEIGHTS[t]:+.2f}}" for t in top)',
            f"    if score >= {self.threshold!r}:",
            f'        return False, f"score {{score:.2f}} >= {_num(self.threshold)} (words: {{evidence}})"',
            f'    return True, f"score {{score:.2f}} < {_num(self.threshold)} (words: {{evidence}})"',
        ]
        return "\n".join(lines)


Rule = ThresholdRule | LogisticRule


def render_eval(rules: Sequence[Rule], header: str = "") -> str:
    """One eval source that passes a trace when every rule passes (the first failing rule gives the reason)."""
    functions = [fn for rule in rules for fn in rule.functions]
    modules, helpers = F.source_of(functions)
    if any(isinstance(r, LogisticRule) for r in rules) and "math" not in modules:
        modules = sorted({*modules, "math"})
    checks = [rule.render_check(f"check_{i}") for i, rule in enumerate(rules, 1)]
    names = ", ".join(f"check_{i}" for i in range(1, len(rules) + 1))
    doc = header or "Synthesised by Forge from rated traces (no LLM)."
    body = [
        f'"""{doc}\n\nPasses when every check passes:\n'
        + "\n".join(f"- check_{i}: {r.describe()}" for i, r in enumerate(rules, 1))
        + '\n"""',
        "\n".join(f"import {m}" for m in modules),
        "# ---- features (the same code Forge used to search for the rules)",
        helpers,
        "# ---- checks",
        *checks,
        f"def {ENTRY_POINT}(trace):\n"
        f"    reasons = []\n"
        f"    for check in ({names},):\n"
        "        passed, reason = check(trace)\n"
        "        if not passed:\n"
        "            return False, reason\n"
        "        reasons.append(reason)\n"
        '    return True, "; ".join(reasons)',
    ]
    return "\n\n\n".join(part for part in body if part) + "\n"


# ---------------------------------------------------------------- search


@dataclass
class Candidate:
    """A candidate eval built on some rated traces: its rule, its source, and its kappa on those traces."""

    name: str
    rule: Rule
    train_kappa: float
    description: str = ""
    source: str = field(default="", repr=False)


def _kappa(tp, fp, fn, tn) -> np.ndarray:
    return np.nan_to_num(f1_and_kappa(tp, fp, fn, tn)[1], nan=-1.0)


def _cuts(values: np.ndarray) -> np.ndarray:
    """Midpoints between distinct values (at most CUTS_PER_FEATURE, at quantiles)."""
    distinct = np.unique(values[~np.isnan(values)])
    if distinct.size < 2:
        return np.empty(0)
    mids = (distinct[:-1] + distinct[1:]) / 2
    if mids.size > CUTS_PER_FEATURE:
        mids = np.unique(np.quantile(mids, np.linspace(0, 1, CUTS_PER_FEATURE)))
    return mids


def _conditions(feature: F.Feature, values: np.ndarray) -> list[Condition]:
    return [Condition(feature, float(c), above) for c in _cuts(values) for above in (True, False)]


def _best_condition(feature: F.Feature, values: np.ndarray, fail: np.ndarray) -> tuple[Condition, float] | None:
    conditions = _conditions(feature, values)
    if not conditions:
        return None
    masks = np.array([c.fails(values) for c in conditions])
    tp, fp = masks[:, fail].sum(1), masks[:, ~fail].sum(1)
    kappa = _kappa(tp, fp, fail.sum() - tp, (~fail).sum() - fp)
    best = int(np.argmax(kappa))
    return conditions[best], float(kappa[best])


def _phrases(token_sets: list[frozenset[str]], fail: np.ndarray) -> list[F.Feature]:
    """Words and word pairs whose presence best separates fails from passes (log-odds weighted by support)."""
    in_fail, in_pass = Counter(), Counter()
    for found, is_fail in zip(token_sets, fail, strict=True):
        (in_fail if is_fail else in_pass).update(found)
    n_fail, n_pass = int(fail.sum()), int((~fail).sum())
    min_support = max(3, int(0.03 * min(n_fail, n_pass)))
    scored = []
    for token in in_fail.keys() | in_pass.keys():
        a, b = in_fail[token], in_pass[token]
        if a + b < min_support:
            continue
        log_odds = math.log((a + 0.5) / (n_fail - a + 0.5)) - math.log((b + 0.5) / (n_pass - b + 0.5))
        scored.append((log_odds * math.sqrt(a + b), token))
    scored.sort()
    chosen = [t for _, t in scored[-PHRASES_PER_CLASS:][::-1]] + [t for _, t in scored[:PHRASES_PER_CLASS] if _ < 0]
    side = {"i:": "input", "o:": "output"}
    return [F.phrase_feature(side[t[:2]], t[2:]) for t in chosen]


def _pair(
    singles: list[tuple[F.Feature, np.ndarray]], fail: np.ndarray, modes: tuple[str, ...] = ("any", "all")
) -> tuple[ThresholdRule, float] | None:
    """The best AND / OR of two thresholds among the given features (counts by matrix products)."""
    options = [(f, _conditions(f, v), v) for f, v in singles]
    masks = [np.array([c.fails(v) for c in conds], dtype=np.float32) for _, conds, v in options if conds]
    options = [o for o in options if o[1]]
    n_fail, n_pass = fail.sum(), (~fail).sum()
    best: tuple[float, ThresholdRule] | None = None
    for i in range(len(options)):
        for j in range(i + 1, len(options)):
            a, b = masks[i], masks[j]
            both_f, both_p = a[:, fail] @ b[:, fail].T, a[:, ~fail] @ b[:, ~fail].T
            a_f, a_p = a[:, fail].sum(1)[:, None], a[:, ~fail].sum(1)[:, None]
            b_f, b_p = b[:, fail].sum(1)[None, :], b[:, ~fail].sum(1)[None, :]
            for mode, tp, fp in (("any", a_f + b_f - both_f, a_p + b_p - both_p), ("all", both_f, both_p)):
                if mode not in modes:
                    continue
                kappa = _kappa(tp, fp, n_fail - tp, n_pass - fp)
                x, y = np.unravel_index(int(np.argmax(kappa)), kappa.shape)
                if best is None or kappa[x, y] > best[0] + 1e-12:
                    best = (float(kappa[x, y]), ThresholdRule((options[i][1][x], options[j][1][y]), mode))
    return (best[1], best[0]) if best else None


def _fit_logistic(x: sparse.csr_matrix, fail: np.ndarray, l2: float) -> np.ndarray:
    """L2-penalised logistic regression (intercept first), L-BFGS from zero: deterministic."""
    y = fail.astype(float)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w[1:] + w[0]
        p = 1 / (1 + np.exp(-z))
        value = np.sum(np.logaddexp(0, z) - y * z) + l2 * np.dot(w[1:], w[1:])
        grad = np.concatenate([[np.sum(p - y)], x.T @ (p - y) + 2 * l2 * w[1:]])
        return float(value), grad

    return minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", options={"maxiter": 300}).x


def _token_matrix(token_sets: list[frozenset[str]], min_count: int = 3) -> tuple[sparse.csr_matrix, list[str]]:
    """Binary traces x tokens matrix over the tokens that occur in at least ``min_count`` traces."""
    counts = Counter(t for found in token_sets for t in found)
    vocab = sorted(t for t, c in counts.items() if c >= min_count)
    index = {t: i for i, t in enumerate(vocab)}
    rows, cols = [], []
    for r, found in enumerate(token_sets):
        for t in found:
            c = index.get(t)
            if c is not None:
                rows.append(r)
                cols.append(c)
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(token_sets), len(vocab)))
    return matrix, vocab


def _vocabulary(matrix: sparse.csr_matrix, fail: np.ndarray, size: int) -> np.ndarray:
    """Columns of the tokens that best separate the classes (log-odds weighted by support)."""
    in_fail = np.asarray(matrix[fail].sum(axis=0)).ravel()
    in_pass = np.asarray(matrix[~fail].sum(axis=0)).ravel()
    n_fail, n_pass = fail.sum(), (~fail).sum()
    log_odds = np.log((in_fail + 0.5) / (n_fail - in_fail + 0.5)) - np.log((in_pass + 0.5) / (n_pass - in_pass + 0.5))
    score = np.abs(log_odds) * np.sqrt(in_fail + in_pass)
    score[in_fail + in_pass < 5] = -1.0
    order = np.argsort(-score, kind="stable")[:size]
    return np.sort(order[score[order] > 0])


def _best_threshold(scores: np.ndarray, fail: np.ndarray) -> float:
    cuts = np.unique(np.quantile(scores, np.linspace(0.3, 0.99, 70)))
    masks = scores[None, :] >= cuts[:, None]
    tp, fp = masks[:, fail].sum(1), masks[:, ~fail].sum(1)
    kappa = _kappa(tp, fp, fail.sum() - tp, (~fail).sum() - fp)
    return float(cuts[int(np.argmax(kappa))])


LOGISTIC_SETTINGS = ((3000, 60.0),)  # (vocabulary size, L2 penalty); more settings are tried when listed
INNER_FOLDS = 5
MIN_TOKEN_WEIGHT = 0.01
INNER_REPEATS = 1  # inner cross-validation repeated with other seeds: steadier weights and threshold


def _logistic(
    token_sets: list[frozenset[str]], dense_features: list[F.Feature], dense: np.ndarray, fail: np.ndarray, seed: int
) -> tuple[LogisticRule, float] | None:
    """A logistic scorer built by inner cross-validation on these traces: for each setting, one fit per
    fold scores the traces it did not see; the setting and fail threshold with the best kappa on those
    out-of-fold scores win, and the scorer is the average of that setting's fold fits (one linear model
    whose scores are on the scale the threshold was chosen on)."""
    n = len(token_sets)
    if n < LOGISTIC_MIN_RATINGS or fail.sum() < INNER_FOLDS or (~fail).sum() < INNER_FOLDS:
        return None
    matrix, vocab = _token_matrix(token_sets)
    mean, scale = _dense_stats(dense)  # label-free, so shared by the folds without leaking labels
    scaled = sparse.csr_matrix((np.where(np.isnan(dense), mean, np.log1p(np.maximum(dense, 0.0))) - mean) / scale)
    best: tuple[float, float, np.ndarray, np.ndarray, float] | None = None
    fits = INNER_FOLDS * INNER_REPEATS
    for size, l2 in LOGISTIC_SETTINGS:
        out_of_fold = np.zeros(n)
        token_sum = np.zeros(len(vocab))
        dense_sum = np.zeros(dense.shape[1])
        intercept_sum = 0.0
        for repeat in range(INNER_REPEATS):
            folds = _stratified_folds(fail, INNER_FOLDS, seed + repeat)
            for k in range(INNER_FOLDS):
                test = folds == k
                columns = _vocabulary(matrix[~test], fail[~test], size)
                design = sparse.hstack([matrix[:, columns], scaled], format="csr")
                w = _fit_logistic(design[~test], fail[~test], l2)
                out_of_fold[test] += (design[test] @ w[1:] + w[0]) / INNER_REPEATS
                token_sum[columns] += w[1 : len(columns) + 1] / fits
                dense_sum += w[len(columns) + 1 :] / fits
                intercept_sum += w[0] / fits
        cut = _best_threshold(out_of_fold, fail)
        masks = out_of_fold >= cut
        tp, fp = int((masks & fail).sum()), int((masks & ~fail).sum())
        kappa = float(_kappa(tp, fp, int(fail.sum()) - tp, int((~fail).sum()) - fp))
        if best is None or kappa > best[0]:
            best = (kappa, cut, token_sum, dense_sum, intercept_sum)
    kappa, cut, token_weights_all, dense_weights, intercept = best
    token_weights = {t: round(float(v), 4) for t, v in zip(vocab, token_weights_all, strict=True)}
    # words that barely move the score are dropped, so the eval stays readable (and its source small)
    token_weights = {t: v for t, v in token_weights.items() if abs(v) >= MIN_TOKEN_WEIGHT}
    dense_terms = tuple(
        (f, float(m), float(s), round(float(v), 4))
        for f, m, s, v in zip(dense_features, mean, scale, dense_weights, strict=True)
        if round(float(v), 4) != 0.0
    )
    return LogisticRule(round(float(intercept), 4), round(cut, 4), token_weights, dense_terms, n), kappa


def _dense_stats(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    transformed = np.log1p(np.maximum(np.nan_to_num(dense, nan=0.0), 0.0))
    mean = transformed.mean(axis=0)
    scale = transformed.std(axis=0)
    return mean, np.where(scale > 1e-9, scale, 1.0)


def _stratified_folds(fail: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number per item, classes spread evenly, seeded."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(fail), dtype=int)
    for cls in (True, False):
        idx = np.flatnonzero(fail == cls)
        rng.shuffle(idx)
        folds[idx] = np.arange(idx.size) % k
    return folds


def _as_fail(labels: Sequence[bool | str]) -> np.ndarray:
    clean = []
    for label in labels:
        if isinstance(label, str):
            label = {"pass": True, "fail": False}[label]
        clean.append(not label)
    return np.array(clean, dtype=bool)


def build_candidates(
    traces: Sequence[dict],
    labels: Sequence[bool | str],
    *,
    seed: int = 0,
    table: FeatureTable | None = None,
    learned: bool = True,
) -> dict[str, Candidate]:
    """Candidate evals searched on these rated traces (label True or 'pass' = pass), each with its source."""
    if len(traces) != len(labels):
        raise ValueError(f"{len(traces)} traces for {len(labels)} labels")
    table = table or FeatureTable()
    fail = _as_fail(labels)
    out: dict[str, Candidate] = {}
    if fail.all() or not fail.any():
        return out  # one class only: nothing separates them
    token_sets = table.tokens(traces)
    singles: list[tuple[float, F.Feature, np.ndarray, Condition]] = []
    for feature in [*F.BASE_FEATURES, *_phrases(token_sets, fail)]:
        values = table.column(feature, traces)
        found = _best_condition(feature, values, fail)
        if found and found[1] >= MIN_KAPPA:
            singles.append((found[1], feature, values, found[0]))
    singles.sort(key=lambda s: -s[0])
    for kappa, feature, _, condition in singles[:MAX_SINGLE_CANDIDATES]:  # each costs a sandbox run per fold
        name = (
            f"phrase:{feature.args[0]}:{feature.args[1]}"
            if feature.function is F.phrase_count
            else f"rule:{feature.name}"
        )
        out[name] = Candidate(name, ThresholdRule((condition,)), kappa)
    if singles:
        kappa, _, _, condition = singles[0]
        out["best_rule"] = Candidate("best_rule", ThresholdRule((condition,)), kappa)
    pair = _pair([(f, v) for _, f, v, _ in singles[:TOP_SINGLE]], fail)
    if pair:
        out["pair"] = Candidate("pair", pair[0], pair[1])
    if learned:
        dense_features = [f for f in F.BASE_FEATURES if f.function not in (F.latency_ms, F.cost_usd)]
        dense_features += [f for f in (F.BASE_FEATURES) if f.function in (F.latency_ms, F.cost_usd)]
        dense = np.column_stack([table.column(f, traces) for f in dense_features])
        present = ~np.isnan(dense)
        keep = [i for i in range(dense.shape[1]) if present[:, i].any() and np.ptp(dense[present[:, i], i]) > 0]
        found = _logistic(token_sets, [dense_features[i] for i in keep], dense[:, keep], fail, seed)
        if found:
            out["logistic"] = Candidate("logistic", found[0], found[1])
    for candidate in out.values():
        candidate.description = candidate.rule.describe()
        candidate.source = render_eval([candidate.rule], f"Synthesised by Forge ({candidate.name}), no LLM.")
    return out
