"""`forge eval run EVAL.py --traces FILE [--json] [--timeout S]`: one eval file over a trace file, no database."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from forge.evals.contract import Verdict
from forge.evals.gate import GATE_NOT_MET, Gate
from forge.evals.metrics import eval_metrics
from forge.evals.sandbox import run_evals

_LABEL_KEYS = ("rating", "human_label")


class FileRunError(Exception):
    """Bad input (missing or unreadable file): one line on stderr, exit code 2."""


@dataclass
class LabelledTrace:
    trace: dict[str, Any]
    rating: str | None  # "pass" | "fail" | "neutral" | None


def read_traces(path: str) -> tuple[list[LabelledTrace], list[str]]:
    """The file's traces with their ratings, and a warning per row that could not be read."""
    from forge.review.ratings import normalize_rating
    from forge.traces.files import parse_rows, row_to_unified
    from forge.traces.model import TraceFieldError

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FileRunError(f"cannot read trace file {path}: {exc.strerror or exc}") from None
    text = data.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise FileRunError(f"trace file {path} is empty")
    out: list[LabelledTrace] = []
    warnings: list[str] = []
    for line, obj, err in parse_rows(path, text):
        if err is not None:
            warnings.append(f"{path}:{line}: {getattr(err, 'message', err)}")
            continue
        try:
            trace = row_to_unified(obj)
        except TraceFieldError as exc:
            warnings.append(f"{path}:{line}: field '{exc.field}': {exc.message}")
            continue
        rating = None
        value = next((obj[k] for k in _LABEL_KEYS if isinstance(obj, dict) and obj.get(k) not in (None, "")), None)
        if value is not None:
            try:
                rating = normalize_rating(value)
            except ValueError as exc:
                warnings.append(f"{path}:{line}: field 'rating': {exc}")
        out.append(LabelledTrace(trace=trace, rating=rating))
    if not out:
        raise FileRunError(f"no readable traces in {path}" + (f" ({warnings[0]})" if warnings else ""))
    return out, warnings


def _agreement(rows: list[LabelledTrace], verdicts: list[Verdict]) -> dict[str, Any]:
    """n, accuracy, Cohen's kappa, contradictions, errors over the rated (pass/fail) traces."""
    m = eval_metrics(verdicts, [r.rating for r in rows])  # 'neutral' and None are unrated

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    return {
        "n": m.n,
        "accuracy": rounded(m.accuracy.value),
        "kappa": rounded(m.kappa.value),
        "contradictions": m.contradictions,
        "errors": m.errors,
    }


def _table(rows: list[LabelledTrace], verdicts: list[Verdict]) -> str:
    header = ("trace_id", "verdict", "ms", "reason / error")
    body = []
    for r, v in zip(rows, verdicts, strict=True):
        shown = "ERROR" if v.is_error else ("pass" if v.verdict else "fail")
        note = (v.error if v.is_error else v.reason) or ""
        body.append((str(r.trace.get("id")), shown, f"{v.duration_ms:.1f}", note.replace("\n", " ")[:200]))
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(3)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)), row[3]]).rstrip()
        for row in [header, *body]
    ]
    return "\n".join(lines)


def run_eval_file(
    eval_path: str,
    traces_path: str,
    *,
    as_json: bool = False,
    timeout_s: float = 2.0,
    out: TextIO | None = None,
    err: TextIO | None = None,
    gate: Gate | None = None,
) -> int:
    """Run one eval file over a trace file and print the verdicts; the exit code (GATE_NOT_MET when ``gate`` fails)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        try:
            source = Path(eval_path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise FileRunError(f"cannot read eval file {eval_path}: {reason}") from None
        if not timeout_s or timeout_s <= 0:
            raise FileRunError("--timeout must be a positive number of seconds")
        rows, warnings = read_traces(traces_path)
    except FileRunError as exc:
        print(f"forge: {exc}", file=err)
        return 2
    for warning in warnings[:20]:
        print(f"forge: skipped {warning}", file=err)
    if len(warnings) > 20:
        print(f"forge: ... and {len(warnings) - 20} more rows skipped", file=err)
    outcome = run_evals({"eval": source}, [r.trace for r in rows], timeout_s=timeout_s, keep_warm=False)
    if outcome.isolation != "full":
        print(f"forge: reduced isolation (missing: {'; '.join(outcome.missing)})", file=err)
    verdicts = outcome.verdicts["eval"]
    summary = _agreement(rows, verdicts) if any(r.rating for r in rows) else None
    if as_json:
        for r, v in zip(rows, verdicts, strict=True):
            print(json.dumps(v.to_json(str(r.trace.get("id"))), ensure_ascii=False), file=out)
        if summary is not None:
            print(json.dumps(summary), file=out)
    else:
        print(_table(rows, verdicts), file=out)
        if summary is not None:
            acc = "-" if summary["accuracy"] is None else f"{summary['accuracy']:.1%}"
            kappa = "-" if summary["kappa"] is None else f"{summary['kappa']:.3f}"
            print(
                f"\nagreement with ratings: n={summary['n']} accuracy={acc} kappa={kappa} "
                f"contradictions={summary['contradictions']} errors={summary['errors']}",
                file=out,
            )
    out.flush()
    if gate is not None and gate.active:
        misses = gate.misses(
            Path(eval_path).name,
            passed=sum(1 for v in verdicts if v.verdict is True and not v.is_error),
            total=len(verdicts),
            contradictions=summary["contradictions"] if summary else 0,
            rated=summary["n"] if summary else 0,
        )
        for miss in misses:
            print(f"forge: gate not met: {miss}", file=err)
        if misses:
            return GATE_NOT_MET
    return 0
