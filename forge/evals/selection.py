"""Choosing candidate evals by their agreement with humans on traces they were not built from.

Stratified, seeded k-fold cross-validation: for each fold, ``build`` sees only the other folds' traces
and labels; the candidate sources it returns run through ``runner`` (the sandbox in the product) on
the fold's traces only. Each candidate's held-out verdicts, pooled over the folds, give its metrics.
The chosen set (a trace passes when all kept evals pass) is grown greedily by held-out kappa, and
the chosen candidates are built again on all ratings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forge.evals.contract import Verdict
from forge.evals.metrics import EvalMetrics, combine_all_pass, eval_metrics, majority_baseline

# runner(sources, traces) -> {name: [Verdict per trace]}: forge.evals.sandbox.run_evals(...).verdicts in the product
Runner = Callable[[Mapping[str, str], Sequence[dict]], Mapping[str, Sequence[Verdict]]]
# build(traces, labels) -> {name: source, or an object with a .source}
Builder = Callable[[Sequence[dict], Sequence[bool]], Mapping[str, Any]]

MIN_CLASS_RATINGS = 20
MIN_IMPROVEMENT = 0.01  # kappa a further eval must add to the chosen set to join it
MAX_CHOSEN = 3


@dataclass
class CandidateResult:
    """One candidate's held-out figures and whether it was kept, with the reason."""

    name: str
    metrics: EvalMetrics
    folds_built: int
    kept: bool = False
    reason: str = ""
    description: str = ""
    source: str | None = None  # as rebuilt on all ratings (None when the full build did not produce it)


@dataclass
class SelectionResult:
    """Every candidate's held-out figures, the chosen set, and its combined held-out figures."""

    candidates: list[CandidateResult]
    chosen: list[str]
    chosen_metrics: EvalMetrics | None
    baseline: EvalMetrics
    folds: int
    n_ratings: int
    final_build: Mapping[str, Any] = field(default_factory=dict)  # the builder's output on all ratings
    warnings: list[str] = field(default_factory=list)
    held_out_ids: list = field(default_factory=list)  # select_fixed: the traces every figure was measured on

    @property
    def chosen_sources(self) -> dict[str, str]:
        return {c.name: c.source for c in self.candidates if c.kept and c.source is not None}


def _class_counts(labels: Sequence[bool], which: str = "") -> tuple[int, int, list[str]]:
    """(passes, fails, a warning per class under MIN_CLASS_RATINGS) of ``which`` ratings."""
    n_pass = sum(labels)
    n_fail = len(labels) - n_pass
    warnings = [
        f"only {count} {which}{name} ratings (fewer than {MIN_CLASS_RATINGS}): figures are rough"
        for name, count in (("pass", n_pass), ("fail", n_fail))
        if count < MIN_CLASS_RATINGS
    ]
    return n_pass, n_fail, warnings


def _source(built: Any) -> str:
    return built if isinstance(built, str) else built.source


def _label(value: bool | str) -> bool:
    if isinstance(value, str):
        return {"pass": True, "fail": False}[value]
    return bool(value)


def stratified_folds(labels: Sequence[bool], k: int, seed: int) -> list[int]:
    """Fold number per item: each class shuffled (seeded) and dealt round the folds."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=int)
    array = np.asarray(labels, dtype=bool)
    offset = 0
    for cls in (False, True):
        idx = np.flatnonzero(array == cls)
        rng.shuffle(idx)
        folds[idx] = (np.arange(idx.size) + offset) % k  # continue dealing where the other class stopped
        offset += idx.size
    return folds.tolist()


def select_evals(
    traces: Sequence[dict],
    labels: Sequence[bool | str],
    build: Builder,
    runner: Runner,
    *,
    folds: int = 5,
    seed: int = 0,
    min_kappa: float = 0.0,
    max_chosen: int = MAX_CHOSEN,
) -> SelectionResult:
    """Held-out metrics of every candidate, the chosen set (all must pass) and its sources rebuilt on all ratings."""
    if len(traces) != len(labels):
        raise ValueError(f"{len(traces)} traces for {len(labels)} labels")
    clean = [_label(x) for x in labels]
    n_pass, n_fail, warnings = _class_counts(clean)
    baseline = majority_baseline(clean, seed=seed)
    k = min(folds, n_pass, n_fail)
    if k < 2:
        warnings.append("cross-validation needs at least two pass and two fail ratings; nothing was chosen")
        return SelectionResult([], [], None, baseline, 0, len(clean), {}, warnings)

    fold_of = stratified_folds(clean, k, seed)
    held_out: dict[str, list[Verdict | None]] = {}  # None: not scored held-out (absent from that fold's build)
    built_in: dict[str, int] = {}
    for fold in range(k):
        train = [i for i in range(len(clean)) if fold_of[i] != fold]
        test = [i for i in range(len(clean)) if fold_of[i] == fold]
        built = build([traces[i] for i in train], [clean[i] for i in train])
        sources = {name: _source(b) for name, b in built.items()}
        verdicts = runner(sources, [traces[i] for i in test]) if sources else {}
        for name in sources:
            built_in[name] = built_in.get(name, 0) + 1
            column = held_out.setdefault(name, [None] * len(clean))
            for position, i in enumerate(test):
                column[i] = verdicts[name][position]

    results: dict[str, CandidateResult] = {}
    for name, column in held_out.items():
        scored = [i for i, v in enumerate(column) if v is not None]
        metrics = eval_metrics([column[i] for i in scored], [clean[i] for i in scored], seed=seed)
        results[name] = CandidateResult(name, metrics, built_in[name])

    chosen, chosen_metrics = choose_set(
        results, held_out, clean, seed=seed, min_kappa=min_kappa, max_chosen=max_chosen, required_folds=k
    )

    final = build(list(traces), clean)  # chosen candidates are built again on all ratings
    for name, result in results.items():
        if name in final:
            result.source = _source(final[name])
            result.description = getattr(final[name], "description", "")
    missing = [name for name in chosen if results[name].source is None]
    for name in missing:
        warnings.append(f"{name} was not produced when built on all ratings; left out")
        results[name].reason = "not produced when built on all ratings"
        chosen.remove(name)
    if missing:
        chosen_metrics = (
            eval_metrics(combine_all_pass([held_out[n] for n in chosen]), clean, seed=seed) if chosen else None
        )
    for name in chosen:
        results[name].kept = True
        results[name].reason = "kept: best held-out kappa" if name == chosen[0] else "kept: raises the set's kappa"
    ordered = sorted(results.values(), key=lambda r: (not r.kept, -_kappa_of(r.metrics), r.name))
    return SelectionResult(
        ordered, chosen, chosen_metrics if chosen else None, baseline, k, len(clean), final, warnings
    )


def _kappa_of(metrics: EvalMetrics | None) -> float:
    return -2.0 if metrics is None or metrics.kappa.value is None else metrics.kappa.value


def choose_set(
    results: Mapping[str, CandidateResult],
    held_out: Mapping[str, Sequence[Verdict | None]],
    labels: Sequence[bool],
    *,
    seed: int = 0,
    min_kappa: float = 0.0,
    max_chosen: int = MAX_CHOSEN,
    required_folds: int = 1,
) -> tuple[list[str], EvalMetrics | None]:
    """Grow the chosen set (all must pass) greedily by held-out kappa; sets each candidate's reason."""
    eligible = []
    for name, result in results.items():
        if result.folds_built < required_folds:
            result.reason = f"built in {result.folds_built} of {required_folds} folds only"
        elif _kappa_of(result.metrics) <= min_kappa:
            result.reason = f"held-out kappa {_kappa_of(result.metrics):.2f} is not above {min_kappa:.2f}"
        else:
            eligible.append(name)
    eligible.sort(key=lambda n: (-_kappa_of(results[n].metrics), n))

    def combined(names: list[str]) -> EvalMetrics:
        return eval_metrics(combine_all_pass([held_out[n] for n in names]), labels, seed=seed)

    chosen: list[str] = eligible[:1]
    chosen_metrics = combined(chosen) if chosen else None
    while chosen and len(chosen) < max_chosen:
        trials = [(_kappa_of(combined([*chosen, n])), n) for n in eligible if n not in chosen]
        if not trials:
            break
        best_kappa, best_name = min(trials, key=lambda t: (-t[0], t[1]))
        if best_kappa < _kappa_of(chosen_metrics) + MIN_IMPROVEMENT:
            break
        chosen.append(best_name)
        chosen_metrics = combined(chosen)
    for name in eligible:
        if name not in chosen:
            results[name].reason = "adds too little to the chosen set's held-out kappa"
    for name in chosen:
        results[name].reason = "kept: best held-out kappa" if name == chosen[0] else "kept: raises the set's kappa"
    return chosen, chosen_metrics


def split_for_examples(labels: Sequence[bool], max_shown: int, *, share: float = 0.5, seed: int = 0) -> list[int]:
    """Indices of the examples an LLM may see: a seeded, stratified sample of at most ``max_shown`` and at
    most ``share`` of each class; every other rated trace is held out for scoring."""
    clean = [_label(x) for x in labels]
    rng = np.random.default_rng(seed)
    n = len(clean)
    budget = max(0, min(max_shown, int(n * share)))
    shown: list[int] = []
    for cls in (False, True):
        idx = np.flatnonzero(np.asarray(clean, dtype=bool) == cls)
        rng.shuffle(idx)
        quota = min(int(idx.size * share), round(budget * idx.size / n) if n else 0)
        shown.extend(int(i) for i in idx[: max(quota, 1 if idx.size >= 2 else 0)])
    return sorted(shown)


def select_fixed(
    sources: Mapping[str, str],
    traces: Sequence[dict],
    labels: Sequence[bool | str],
    built_from: Sequence[int],
    runner: Runner,
    *,
    seed: int = 0,
    min_kappa: float = 0.0,
    max_chosen: int = MAX_CHOSEN,
) -> SelectionResult:
    """Candidates built once (by an LLM, from the traces at ``built_from``) scored only on the other traces.

    Generating per fold would multiply the LLM's cost by the folds, so this is a single hold-out split:
    no candidate is ever scored on a trace it was built from."""
    if len(traces) != len(labels):
        raise ValueError(f"{len(traces)} traces for {len(labels)} labels")
    clean = [_label(x) for x in labels]
    seen = set(built_from)
    test = [i for i in range(len(clean)) if i not in seen]
    test_labels = [clean[i] for i in test]
    n_pass, n_fail, warnings = _class_counts(test_labels, "held-out ")
    baseline = majority_baseline(test_labels, seed=seed)
    if not sources or not test:
        if not test:
            warnings.append("no rated trace is left to score on once the examples are set aside; nothing was chosen")
        return SelectionResult([], [], None, baseline, 1, len(test), dict(sources), warnings)
    verdicts = runner(dict(sources), [traces[i] for i in test])
    held_out = {name: list(verdicts[name]) for name in sources}
    results = {
        name: CandidateResult(name, eval_metrics(column, test_labels, seed=seed), 1, source=sources[name])
        for name, column in held_out.items()
    }
    chosen, chosen_metrics = choose_set(
        results, held_out, test_labels, seed=seed, min_kappa=min_kappa, max_chosen=max_chosen
    )
    for name in chosen:
        results[name].kept = True
    ordered = sorted(results.values(), key=lambda r: (not r.kept, -_kappa_of(r.metrics), r.name))
    ids = [traces[i].get("id") for i in test]
    return SelectionResult(ordered, chosen, chosen_metrics, baseline, 1, len(test), dict(sources), warnings, ids)
