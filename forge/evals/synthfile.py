"""`forge eval synth --traces LABELLED_FILE --out EVAL.py`: a labelled file in, one eval file out. No DB, no LLM.

Labels come from a row's ``rating`` field (pass/fail/neutral, up/down, 1/0, true/false) or, failing
that, HaluEval's ``human_label`` (1 good, 0 hallucinated). Neutral and unlabelled rows are left out.
The written eval passes a trace when every chosen rule passes; its docstring carries the held-out figures.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from forge.evals.contract import Verdict
from forge.evals.metrics import EvalMetrics
from forge.evals.selection import Runner, SelectionResult, select_evals
from forge.evals.synth import FeatureTable, build_candidates, render_eval

LABEL_FIELDS = ("rating", "human_label")


class SynthInputError(ValueError):
    """The labelled file cannot be used (unreadable, or too few ratings of a class); the message says why."""


def sandbox_runner(sources: Mapping[str, str], traces: Sequence[dict]) -> dict[str, list[Verdict]]:
    """The product runner: every candidate runs in the sandbox."""
    from forge.evals import sandbox  # late: starting workers is needed only when something runs

    return sandbox.run_evals(sources, traces).verdicts


def read_labelled(path: str | Path) -> tuple[list[dict], list[bool], dict[str, Any]]:
    """(unified traces, labels True=pass, {rows, unlabelled, neutral, errors}) from a JSONL/JSON/CSV file."""
    from forge.review.ratings import normalize_rating
    from forge.traces.files import TraceFieldError, parse_rows, row_to_unified

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SynthInputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    traces: list[dict] = []
    labels: list[bool] = []
    report: dict[str, Any] = {"rows": 0, "unlabelled": 0, "neutral": 0, "errors": []}
    for line, obj, err in parse_rows(path.name, text):
        report["rows"] += 1
        if err is not None:
            report["errors"].append({"line": line, "field": getattr(err, "field", None), "message": str(err)})
            continue
        try:
            trace = row_to_unified(obj)
        except TraceFieldError as exc:
            report["errors"].append({"line": line, "field": exc.field, "message": exc.message})
            continue
        field = next((k for k in LABEL_FIELDS if isinstance(obj, dict) and obj.get(k) not in (None, "")), None)
        if field is None:
            report["unlabelled"] += 1
            continue
        try:
            value = normalize_rating(obj[field])
        except ValueError as exc:
            report["errors"].append({"line": line, "field": field, "message": str(exc)})
            continue
        if value == "neutral":
            report["neutral"] += 1
            continue
        traces.append(trace)
        labels.append(value == "pass")
    return traces, labels, report


def _figures(metrics: EvalMetrics | None) -> dict[str, Any] | None:
    if metrics is None:
        return None
    out: dict[str, Any] = {"n": metrics.n, "contradictions": metrics.contradictions, "errors": metrics.errors}
    for name in ("accuracy", "precision", "recall", "f1", "kappa", "coverage", "false_failure_rate"):
        estimate = getattr(metrics, name)
        out[name] = None if estimate.value is None else round(estimate.value, 4)
        out[name + "_interval"] = None if estimate.low is None else [round(estimate.low, 4), round(estimate.high, 4)]
    return out


def synthesise(
    traces: Sequence[dict], labels: Sequence[bool], *, runner: Runner, seed: int = 0, folds: int = 5
) -> tuple[str | None, SelectionResult]:
    """(one eval source of the chosen rules, or None when nothing agrees with humans; the selection)."""
    table = FeatureTable()  # feature values are label-free: computed once, shared by every fold's build

    def build(train: Sequence[dict], train_labels: Sequence[bool]) -> dict:
        return build_candidates(train, train_labels, seed=seed, table=table)

    result = select_evals(traces, labels, build, runner, folds=folds, seed=seed)
    if not result.chosen:
        return None, result
    rules = [result.final_build[name].rule for name in result.chosen]
    m = result.chosen_metrics
    figures = (
        f"held-out ({result.folds}-fold cross-validation on {result.n_ratings} ratings): "
        f"accuracy {m.accuracy.value:.3f}, F1 of fail {_fmt(m.f1.value)}, Cohen's kappa {_fmt(m.kappa.value)}; "
        f"majority-class baseline accuracy {result.baseline.accuracy.value:.3f}"
    )
    header = f"Synthesised by Forge from {result.n_ratings} rated traces (no LLM, seed {seed}).\n\n{figures}"
    return render_eval(rules, header), result


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def synth_file(
    traces_path: str | Path, out_path: str | Path, seed: int = 0, *, runner: Runner | None = None, folds: int = 5
) -> dict[str, Any]:
    """Read a labelled file, synthesise, write one eval .py; return a JSON-ready summary.

    Raises SynthInputError when the file cannot be read or nothing can be learnt from it."""
    start = time.perf_counter()
    traces, labels, report = read_labelled(traces_path)
    n_pass, n_fail = sum(labels), len(labels) - sum(labels)
    if n_pass < 2 or n_fail < 2:
        raise SynthInputError(
            f"{traces_path}: need at least 2 pass and 2 fail ratings (found {n_pass} pass, {n_fail} fail, "
            f"{report['unlabelled']} unlabelled rows, {len(report['errors'])} bad rows)"
        )
    source, result = synthesise(traces, labels, runner=runner or sandbox_runner, seed=seed, folds=folds)
    if source is not None:
        Path(out_path).write_text(source, encoding="utf-8")
    return {
        "out": str(out_path) if source is not None else None,
        "rows": report["rows"],
        "rated": len(labels),
        "passes": n_pass,
        "fails": n_fail,
        "unlabelled": report["unlabelled"],
        "neutral": report["neutral"],
        "errors": report["errors"][:20],
        "folds": result.folds,
        "chosen": result.chosen,
        "held_out": _figures(result.chosen_metrics),
        "baseline": _figures(result.baseline),
        "candidates": [
            {
                "name": c.name,
                "kept": c.kept,
                "reason": c.reason,
                "description": c.description,
                "held_out": _figures(c.metrics),
            }
            for c in result.candidates
        ],
        "warnings": result.warnings
        + ([] if source is not None else ["no candidate agreed with the humans on held-out traces; nothing written"]),
        "seconds": round(time.perf_counter() - start, 2),
    }
