"""An eval set's ratings turned into stored evals: by an LLM or by synthesis, kept only when they agree with humans.

This is the one place that joins the store (ratings, traces, evals), the human labels (resolution else
majority) and the DB-free cores (generate, synth, selection, metrics). Every candidate runs in the sandbox
(``runner``); every figure is measured on traces the candidate was not built from:

- synthesis: stratified, seeded k-fold cross-validation (the build sees the training folds only), the
  chosen candidates built again on all ratings;
- LLM generation: generating once per fold would multiply the model's cost, so the model is shown a seeded,
  stratified sample of the ratings and every candidate is scored on the rest only.

Results are values (a summary dict, also stored in ``eval_generations``); a failed provider call keeps the
candidates already made.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from forge.evals import generate as gen
from forge.evals.meta_prompt import MAX_EXAMPLES, Contradiction, RatedExample
from forge.evals.metrics import EvalMetrics, eval_metrics
from forge.evals.selection import (
    MIN_CLASS_RATINGS,
    Runner,
    SelectionResult,
    select_evals,
    select_fixed,
    split_for_examples,
)
from forge.evals.synth import FeatureTable, build_candidates
from forge.review.agreement import agreement
from forge.review.labels import human_labels
from forge.store import evals as eval_store
from forge.store import ratings as rating_store
from forge.store import traces as trace_store
from forge.store.access import Access
from forge.store.types import Progress

MIN_ACCURACY = 0.8
MIN_KAPPA = 0.4
GOOD_KAPPA = 0.6
FIGURES = ("accuracy", "precision", "recall", "f1", "kappa", "coverage", "false_failure_rate")


class AuthoringError(ValueError):
    """The work cannot start (unknown set, too few ratings, no model): the message says what to do."""


# ---------------------------------------------------------------- figures


def figures(metrics: EvalMetrics | None) -> dict[str, Any] | None:
    """A JSON-ready form of held-out metrics: each figure with its 95 % interval, counts, flags."""
    if metrics is None:
        return None
    out: dict[str, Any] = {
        "n": metrics.n,
        "contradictions": metrics.contradictions,
        "errors": metrics.errors,
        "human_fails": metrics.human_fails,
        "human_passes": metrics.human_passes,
    }
    for name in FIGURES:
        estimate = getattr(metrics, name)
        out[name] = None if estimate.value is None else round(estimate.value, 4)
        out[name + "_interval"] = None if estimate.low is None else [round(estimate.low, 4), round(estimate.high, 4)]
    out["flags"] = flags(out)
    return out


def flags(figs: dict[str, Any] | None) -> list[str]:
    """Why an eval (or set) is not to be trusted yet: accuracy under 80 %, kappa under 0.4."""
    if not figs:
        return []
    out = []
    if figs.get("accuracy") is not None and figs["accuracy"] < MIN_ACCURACY:
        out.append(f"accuracy {figs['accuracy']:.0%} is under {MIN_ACCURACY:.0%}")
    if figs.get("kappa") is None:
        out.append("kappa undefined (one class only among the scored traces)")
    elif figs["kappa"] < MIN_KAPPA:
        out.append(f"kappa {figs['kappa']:.2f} is under {MIN_KAPPA}")
    return out


def kappa_band(kappa: float | None) -> tuple[str, str]:
    """(colour, text with a symbol) for a kappa: green from 0.6, amber from 0.4, red below."""
    if kappa is None:
        return "gray", "— n/a"
    if kappa >= GOOD_KAPPA:
        return "green", f"✔ {kappa:.2f} good"
    if kappa >= MIN_KAPPA:
        return "orange", f"▲ {kappa:.2f} fair"
    return "red", f"✖ {kappa:.2f} poor"


def ceiling(rows: Sequence[dict]) -> dict[str, Any]:
    """The human-human agreement of the set (mean pairwise Cohen's kappa): the ceiling an eval can reach."""
    report = agreement(rows)
    kappas = [p.kappa for p in report.pairs if p.kappa is not None and p.n_shared]
    shared = sum(p.n_shared for p in report.pairs)
    if len(report.raters) < 2 or not shared:
        text = "no second rater yet" if len(report.raters) < 2 else "no trace rated by two raters yet"
        return {"kappa": None, "raters": len(report.raters), "pairs": 0, "shared": 0, "text": text}
    mean = sum(kappas) / len(kappas) if kappas else None
    return {
        "kappa": None if mean is None else round(mean, 4),
        "raters": len(report.raters),
        "pairs": len(report.pairs),
        "shared": shared,
        "alpha": None if report.krippendorff_alpha is None else round(report.krippendorff_alpha, 4),
        "text": (
            f"mean pairwise kappa {mean:.2f} over {len(report.pairs)} rater pair(s), {shared} shared ratings"
            if mean is not None
            else "raters agree on every shared trace or kappa is undefined"
        ),
    }


def class_warnings(labels: Sequence[bool]) -> list[str]:
    """A warning per class with fewer than 20 ratings."""
    n_pass = sum(1 for x in labels if x)
    n_fail = len(labels) - n_pass
    return [
        f"only {count} {name} ratings (fewer than {MIN_CLASS_RATINGS}): every figure is rough"
        for name, count in (("pass", n_pass), ("fail", n_fail))
        if count < MIN_CLASS_RATINGS
    ]


# ---------------------------------------------------------------- the set's data


@dataclass
class SetData:
    """A set's rated traces in one order with their human labels (True = pass) and rater notes."""

    eval_set: dict
    traces: list[dict]
    labels: list[bool]
    notes: dict[str, str]
    ceiling: dict[str, Any]
    ties: list[str]

    @property
    def criterion(self) -> str:
        return self.eval_set.get("criterion") or self.eval_set["name"]


def find_eval_set(access: Access, name_or_id: str) -> dict:
    """The eval set called (or with id) ``name_or_id``; AuthoringError naming the sets there are."""
    sets = rating_store.list_eval_sets(access)
    for es in sets:
        if name_or_id in (es["id"], es["name"]):
            return es
    names = ", ".join(repr(es["name"]) for es in sets) or "none yet"
    raise AuthoringError(f"no eval set {name_or_id!r} in this workspace (eval sets: {names})")


def load_set(access: Access, eval_set_id: str) -> SetData:
    """The set's labelled traces (resolution else majority; ties and neutral left out) and notes."""
    es = find_eval_set(access, eval_set_id)
    rows = rating_store.set_ratings(access, es["id"])
    resolved = human_labels(access, es["id"])
    settled = rating_store.resolutions(access, es["id"])
    notes: dict[str, list[str]] = {}
    for trace_id, r in settled.items():
        if r.get("note"):
            notes.setdefault(trace_id, []).append(r["note"])
    for r in rows:
        if r.get("note") and resolved.labels.get(r["trace_id"]) == r["value"]:
            notes.setdefault(r["trace_id"], []).append(r["note"])
    traces, labels = [], []
    found = trace_store.get_traces(access, sorted(resolved.labels))
    for trace_id in sorted(resolved.labels):
        trace = found.get(trace_id)
        if trace is None:  # deleted since it was rated
            continue
        traces.append(trace)
        labels.append(resolved.labels[trace_id] == "pass")
    return SetData(es, traces, labels, {k: " / ".join(v) for k, v in notes.items()}, ceiling(rows), list(resolved.ties))


def _need_both_classes(data: SetData, least: int = 2) -> None:
    n_pass = sum(data.labels)
    n_fail = len(data.labels) - n_pass
    if n_pass < least or n_fail < least:
        raise AuthoringError(
            f"eval set {data.eval_set['name']!r} needs at least {least} pass and {least} fail ratings"
            f" (it has {n_pass} pass, {n_fail} fail): rate more traces on the Review page"
        )


def default_runner(sources, traces):
    """Every candidate runs in the sandbox."""
    from forge.evals.synthfile import sandbox_runner

    return sandbox_runner(sources, traces)


def _guarded(runner: Runner, cancelled: Callable[[], bool] | None) -> Runner:
    def run(sources, traces):
        if cancelled and cancelled():
            raise _Stop()
        return runner(sources, traces)

    return run


class _Stop(Exception):
    """Cancelled between sandbox runs."""


def _summary_base(kind: str, data: SetData, model: str | None) -> dict[str, Any]:
    n_pass = sum(data.labels)
    return {
        "kind": kind,
        "eval_set": data.eval_set["name"],
        "eval_set_id": data.eval_set["id"],
        "model": model,
        "ratings": len(data.labels),
        "passes": n_pass,
        "fails": len(data.labels) - n_pass,
        "ties": len(data.ties),
        "ceiling": data.ceiling,
        "warnings": class_warnings(data.labels),
    }


def _usage_json(usage: gen.Usage) -> dict[str, Any]:
    return asdict(usage)


# ---------------------------------------------------------------- synthesis


def synthesise_set(
    access: Access,
    eval_set_id: str,
    *,
    seed: int = 0,
    folds: int = 5,
    runner: Runner | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Synthesise candidate evals from the set's ratings (no LLM), choose by held-out agreement, store them all
    (chosen ones ``kept``, the rest ``rejected`` with their figures); returns the summary."""
    access.need("edit")
    started = time.perf_counter()
    data = load_set(access, eval_set_id)
    _need_both_classes(data)
    table = FeatureTable()
    calls = [0]

    def build(train, train_labels):
        calls[0] += 1
        if progress:
            progress(calls[0] - 1, folds + 1, f"Building candidates ({calls[0]} of {folds + 1})")
        return build_candidates(train, train_labels, seed=seed, table=table)

    summary = _summary_base("synth", data, None)
    try:
        result = select_evals(
            data.traces, data.labels, build, _guarded(runner or default_runner, cancelled), folds=folds, seed=seed
        )
    except _Stop:
        summary.update(status="cancelled", error="cancelled before anything was stored", candidates=[])
        return summary
    summary.update(_selection_json(result), method=f"{result.folds}-fold stratified cross-validation (seed {seed})")
    stored = []
    seen_rules: set[str] = set()
    for cand in result.candidates:
        if cand.source is None:
            stored.append(_candidate_json(cand, None, reason_extra="not produced on all ratings; not stored"))
            continue
        if cand.description in seen_rules and not cand.kept:
            stored.append(_candidate_json(cand, None, reason_extra="the same rule as an earlier candidate"))
            continue
        seen_rules.add(cand.description)
        figs = figures(cand.metrics)
        ev = eval_store.create_eval(
            access,
            data.eval_set["id"],
            eval_store.unused_name(access, data.eval_set["id"], _identifier(cand.name)),
            cand.source,
            origin="synth",
            description=cand.description,
            status="kept" if cand.kept else "rejected",
            note=cand.reason,
            generation={"status": "synthesised", "candidate": cand.name, "seed": seed, "folds": result.folds},
            metrics={**figs, "reason": cand.reason, "method": summary["method"]},
        )
        stored.append(_candidate_json(cand, ev.id, name=ev.name))
    summary["candidates"] = stored
    summary["status"] = "done" if result.chosen else "nothing kept"
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["generation_id"] = eval_store.record_generation(
        access, data.eval_set["id"], "synth", None, summary["status"], summary
    )
    if progress:
        progress(folds + 1, folds + 1, f"{len(result.chosen)} eval(s) kept")
    return summary


def _identifier(name: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_").lower() or "eval"


def _selection_json(result: SelectionResult) -> dict[str, Any]:
    return {
        "chosen": list(result.chosen),
        "set_metrics": figures(result.chosen_metrics),
        "baseline": figures(result.baseline),
        "folds": result.folds,
        "held_out": result.n_ratings,
        "selection_warnings": list(result.warnings),
    }


def _candidate_json(cand, eval_id: str | None, *, name: str | None = None, reason_extra: str = "") -> dict:
    figs = figures(cand.metrics)
    return {
        "name": name or cand.name,
        "eval_id": eval_id,
        "kept": cand.kept,
        "reason": cand.reason + (f"; {reason_extra}" if reason_extra else ""),
        "description": cand.description,
        "metrics": figs,
        "flags": figs["flags"] if figs else [],
    }


# ---------------------------------------------------------------- LLM generation


def default_model(catalog=None) -> str | None:
    """The first configured provider's first catalog model (the offline provider cannot write evals)."""
    from forge.llm.catalog import load_catalog
    from forge.llm.registry import provider_statuses

    catalog = catalog or load_catalog()
    for status in provider_statuses(catalog):
        if not status.configured or status.name == "offline":
            continue
        for name, info in catalog.models.items():
            if info.provider == status.name:
                return name
    return None


def how_to_configure() -> str:
    """What to set so that a provider can write evals."""
    return (
        "no LLM provider is configured: set OPENAI_API_KEY or ANTHROPIC_API_KEY (env or .streamlit/secrets.toml),"
        " or pass --model provider/model; `forge eval synth --eval-set NAME` works without an LLM"
    )


def generate_set(
    access: Access,
    eval_set_id: str,
    model: str | None = None,
    *,
    k: int = 5,
    seed: int = 0,
    runner: Runner | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    policy=None,
) -> dict[str, Any]:
    """Have ``model`` write ``k`` candidate evals from a sample of the set's ratings, check and repair each in the
    sandbox, score them on the ratings the model never saw, store them all; returns the summary."""
    access.need("edit")
    access.need("run")
    started = time.perf_counter()
    model = (model or default_model() or "").strip()
    if not model:
        raise AuthoringError(how_to_configure())
    data = load_set(access, eval_set_id)
    _need_both_classes(data)
    run = runner or default_runner
    shown = split_for_examples(data.labels, MAX_EXAMPLES, seed=seed)
    examples = [
        RatedExample(data.traces[i], "pass" if data.labels[i] else "fail", data.notes.get(data.traces[i]["id"]))
        for i in shown
    ]
    check = gen.sandbox_check([e.trace for e in examples], runner=run)
    result = gen.generate_candidates(
        model,
        data.criterion,
        examples,
        k=k,
        check=check,
        progress=progress,
        cancelled=cancelled,
        seed=seed,
        policy=policy,
    )
    summary = _summary_base("llm", data, model)
    summary["method"] = (
        f"generated once from {len(shown)} example(s) (seeded, stratified); scored on the other"
        f" {len(data.labels) - len(shown)} rated traces only"
    )
    summary["examples_shown"] = len(shown)
    kept_sources = {c.name: c.source for c in result.kept}
    selection = None
    if kept_sources and not result.cancelled:
        if progress:
            progress(0, None, f"Scoring {len(kept_sources)} candidate(s) on held-out traces in the sandbox")
        selection = select_fixed(kept_sources, data.traces, data.labels, shown, run, seed=seed)
        summary.update(_selection_json(selection))
    by_name = {c.name: c for c in selection.candidates} if selection else {}
    prompt_text = f"{result.prompt.system}\n\n{result.prompt.prompt}" if result.prompt else None
    built_from = [data.traces[i]["id"] for i in shown]
    stored = []
    for cand in result.candidates:
        scored = by_name.get(cand.name)
        kept = bool(scored and scored.kept)
        reason = scored.reason if scored else (cand.error or "not scored")
        figs = figures(scored.metrics) if scored else None
        generation = {
            "status": cand.status,
            "error": cand.error,
            "first_error": cand.first_error,
            "rationale": cand.rationale,
            **_usage_json(cand.usage),
            "check_ms": round(cand.check_ms, 1),
            "built_from": built_from,
            "seed": seed,
        }
        ev = eval_store.create_eval(
            access,
            data.eval_set["id"],
            eval_store.unused_name(access, data.eval_set["id"], _identifier(cand.name)),
            cand.source,
            origin="llm",
            description=cand.rationale,
            model=model,
            prompt=prompt_text,
            status="kept" if kept else "rejected",
            note=reason,
            generation=generation,
            metrics=None if figs is None else {**figs, "reason": reason, "method": summary["method"]},
        )
        stored.append(
            {
                "name": ev.name,
                "eval_id": ev.id,
                "kept": kept,
                "status": cand.status,
                "reason": reason,
                "description": cand.rationale,
                "metrics": figs,
                "flags": figs["flags"] if figs else [],
                "usage": _usage_json(cand.usage),
                "check_ms": round(cand.check_ms, 1),
                "error": cand.error,
            }
        )
    summary["candidates"] = stored
    summary["usage"] = _usage_json(result.usage)
    summary["calls"] = [{"purpose": c.purpose, "error": c.error, **_usage_json(c.usage)} for c in result.calls]
    summary["error"] = result.error
    summary["traced_to_langfuse"] = result.traced_to_langfuse
    summary["all_calls_failed"] = bool(result.calls) and all(c.error for c in result.calls)
    if result.cancelled:
        summary["status"] = "cancelled"
    elif result.error:
        summary["status"] = "partial" if stored else "failed"
    else:
        summary["status"] = "done" if selection and selection.chosen else "nothing kept"
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["generation_id"] = eval_store.record_generation(
        access, data.eval_set["id"], "llm", model, summary["status"], summary
    )
    return summary


# ---------------------------------------------------------------- refinement


@dataclass(frozen=True)
class ContradictionRow:
    """A rated trace where an eval's verdict differs from the human label, with the rater's note."""

    trace_id: str
    human: str
    verdict: str
    reason: str | None
    note: str | None


def contradictions(
    access: Access, eval_id: str, *, runner: Runner | None = None, data: SetData | None = None
) -> tuple[list[ContradictionRow], dict[str, Any] | None]:
    """The current version's contradictions over every rated trace of its set (run in the sandbox), and its
    figures on those traces (not held-out: for showing where it disagrees, never for choosing)."""
    ev = eval_store.get_eval(access, eval_id)
    if ev is None:
        raise AuthoringError("no such eval in this workspace")
    version = eval_store.get_version(access, eval_id)
    data = data or load_set(access, ev.eval_set_id)
    if not data.traces:
        return [], None
    verdicts = (runner or default_runner)({"eval": version.source}, data.traces)["eval"]
    rows = []
    for trace, label, verdict in zip(data.traces, data.labels, verdicts, strict=True):
        if verdict.verdict is None or verdict.verdict == label:
            continue
        rows.append(
            ContradictionRow(
                trace["id"],
                "pass" if label else "fail",
                "pass" if verdict.verdict else "fail",
                verdict.reason,
                data.notes.get(trace["id"]),
            )
        )
    return rows, figures(eval_metrics(verdicts, data.labels))


def refine(
    access: Access,
    eval_id: str,
    *,
    model: str | None = None,
    seed: int = 0,
    folds: int = 5,
    runner: Runner | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    policy=None,
) -> dict[str, Any]:
    """A new version of the eval from its contradictions, linked to its parent and made current.

    LLM evals: the model rewrites the source from the contradictions and their notes; the new version is scored
    on the rated traces neither version was built from. Synthesised evals: synthesis runs again with each
    contradiction counted three times in the training folds; held-out figures by cross-validation."""
    access.need("edit")
    ev = eval_store.get_eval(access, eval_id)
    if ev is None:
        raise AuthoringError("no such eval in this workspace")
    parent = eval_store.get_version(access, eval_id)
    data = load_set(access, ev.eval_set_id)
    _need_both_classes(data)
    run = runner or default_runner
    if progress:
        progress(0, None, "Finding the eval's contradictions in the sandbox")
    rows, _ = contradictions(access, eval_id, runner=run, data=data)
    if not rows:
        raise AuthoringError(f"{ev.name} v{parent.version} agrees with every rated trace: nothing to refine")
    index = {t["id"]: i for i, t in enumerate(data.traces)}
    summary: dict[str, Any] = {
        "kind": "refine",
        "eval": ev.name,
        "eval_id": ev.id,
        "parent_version": parent.version,
        "contradictions": len(rows),
    }
    if ev.origin == "synth":
        version = _refine_synth(access, ev, parent, data, rows, index, run, seed, folds, cancelled)
    else:
        version = _refine_llm(access, ev, parent, data, rows, index, run, model, seed, progress, cancelled, policy)
    summary.update(version)
    return summary


def _refine_llm(access, ev, parent, data, rows, index, run, model, seed, progress, cancelled, policy) -> dict:
    model = (model or parent.model or default_model() or "").strip()
    if not model:
        raise AuthoringError(how_to_configure())
    contras = [Contradiction(data.traces[index[r.trace_id]], r.human, r.note, r.reason) for r in rows[:MAX_EXAMPLES]]
    shown_ids = {c.trace["id"] for c in contras}
    earlier = set((parent.generation or {}).get("built_from") or [])
    check = gen.sandbox_check([c.trace for c in contras], runner=run)
    result = gen.refine_eval(
        model,
        data.criterion,
        parent.source,
        contras,
        check=check,
        progress=progress,
        cancelled=cancelled,
        seed=seed,
        policy=policy,
    )
    if not result.kept:
        why = result.error or (result.candidates[0].error if result.candidates else "no new version came back")
        return {"status": "failed", "error": why, "usage": _usage_json(result.usage)}
    new = result.kept[0]
    built_from = sorted(earlier | shown_ids)
    held = [i for i, t in enumerate(data.traces) if t["id"] not in set(built_from)]
    figs = None
    if held:
        verdicts = run({"eval": new.source}, [data.traces[i] for i in held])["eval"]
        figs = figures(eval_metrics(verdicts, [data.labels[i] for i in held]))
    note = f"refined from {len(contras)} contradiction(s) of v{parent.version}"
    version = eval_store.add_version(
        access,
        ev.id,
        new.source,
        model=model,
        prompt=f"{result.prompt.system}\n\n{result.prompt.prompt}" if result.prompt else None,
        parent_version=parent.version,
        note=note,
        generation={
            "status": new.status,
            "rationale": new.rationale,
            **_usage_json(new.usage),
            "check_ms": round(new.check_ms, 1),
            "built_from": built_from,
            "seed": seed,
        },
        metrics=None if figs is None else {**figs, "method": f"scored on the {len(held)} rated traces not shown"},
    )
    return {
        "status": "done",
        "version": version.version,
        "note": note,
        "metrics": figs,
        "usage": _usage_json(new.usage),
    }


WEIGHT = 3  # a contradiction counts this many times in a re-synthesis


def _refine_synth(access, ev, parent, data, rows, index, run, seed, folds, cancelled) -> dict:
    wrong = {r.trace_id for r in rows}
    table = FeatureTable()

    def build(train, train_labels):
        extra = [(t, y) for t, y in zip(train, train_labels, strict=True) if t.get("id") in wrong]
        traces = list(train) + [t for t, _ in extra] * (WEIGHT - 1)
        labels = list(train_labels) + [y for _, y in extra] * (WEIGHT - 1)
        return build_candidates(traces, labels, seed=seed, table=table)

    result = select_evals(data.traces, data.labels, build, _guarded(run, cancelled), folds=folds, seed=seed)
    wanted = (parent.generation or {}).get("candidate")

    def new_source(c) -> bool:
        return bool(c.source) and c.source.strip() != parent.source.strip()

    # The same kind of rule when it changed; else the best rule chosen on held-out agreement.
    pick = next((c for c in result.candidates if c.name == wanted and new_source(c)), None)
    if pick is None:
        pick = next((c for c in result.candidates if c.kept and new_source(c)), None)
    if pick is None:
        return {"status": "failed", "error": "re-synthesis found no new rule that agrees with the humans"}
    figs = figures(pick.metrics)
    note = f"re-synthesised with {len(rows)} contradiction(s) of v{parent.version} weighted x{WEIGHT}"
    version = eval_store.add_version(
        access,
        ev.id,
        pick.source,
        parent_version=parent.version,
        note=note,
        generation={"status": "synthesised", "candidate": pick.name, "seed": seed, "weighted": sorted(wrong)},
        metrics={**figs, "reason": pick.reason, "method": f"{result.folds}-fold stratified cross-validation"},
    )
    return {"status": "done", "version": version.version, "note": note, "metrics": figs}
