"""Stored eval runs: the current versions of a set's evals over its traces (or the workspace's), results kept.

Traces are read from the database a page at a time and each page goes through the sandbox
with every core (several workers); a page's results are stored before the next page is
read, so a cancelled or failed run keeps what it finished. Results are kept per
(eval version, trace): a new version's run leaves the old version's results alone.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from forge.evals.contract import DEFAULT_TIMEOUT_S, ProgressFn, Verdict
from forge.evals.metrics import EvalMetrics, eval_metrics
from forge.evals.sandbox import RunOutcome, isolation_status, run_evals
from forge.store import eval_results as result_store
from forge.store.access import Access

PAGE_SIZE = 20_000  # traces read and sent through the sandbox at once (~50 MB of 2 KB outputs); see bench/eval_runs
SAMPLE_SIZE = 6
_RAW_JSON = ("input", "output", "steps", "metadata")
# Called after each page is stored: (the evals, the page's traces, {version_id: verdicts}).
ResultsFn = Callable[[list[result_store.CurrentEval], list[dict], dict[str, list[Verdict]]], None]


class RunError(ValueError):
    """A run that cannot start: no evals, no traces, unknown eval set."""


@dataclass
class StoredRun:
    """How a stored run ended."""

    run_id: str
    status: str  # done | cancelled | failed
    isolation: str  # full | reduced
    missing: list[str]
    traces: int
    evals: int
    done: int  # verdicts stored
    seconds: float = 0.0


@dataclass
class EvalRunSummary:
    """One eval version's results in a run, and how far they agree with the human labels."""

    eval_id: str
    name: str
    origin: str
    version: int
    version_id: str
    passed: int
    failed: int
    errors: int
    metrics: EvalMetrics | None = None  # None when no labelled trace has a verdict

    def to_json(self) -> dict[str, Any]:
        """The summary line of `forge eval run --eval-set`."""
        m = self.metrics
        return {
            "eval": self.name,
            "version": self.version,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "n": m.n if m else 0,
            "accuracy": None if not m or m.accuracy.value is None else round(m.accuracy.value, 4),
            "kappa": None if not m or m.kappa.value is None else round(m.kappa.value, 4),
            "contradictions": m.contradictions if m else 0,
        }


@dataclass
class _Stop:
    """Why a run stops early: the exception the caller's progress raised (a cancel), if any."""

    reason: list[BaseException] = field(default_factory=list)


def runnable_evals(
    access: Access, eval_set_id: str, eval_ids: Sequence[str] | None = None
) -> list[result_store.CurrentEval]:
    """The evals a run uses: ``eval_ids`` when given, else the set's current ones (kept, or manual not rejected)."""
    evals = result_store.current_evals(access, eval_set_id, eval_ids)
    if eval_ids is None:
        evals = [e for e in evals if e.status == "kept" or (e.origin == "manual" and e.status != "rejected")]
    return evals


def _for_sandbox(row: dict) -> dict:
    """A trace read with raw JSON columns, with those columns handed to the sandbox undecoded."""
    for key in _RAW_JSON:
        value = row.get(key)
        if isinstance(value, str):
            row[key] = orjson.Fragment(value)
    return row


def run_stored(
    access: Access,
    eval_set_id: str,
    eval_ids: Sequence[str] | None = None,
    scope: str = "set",
    *,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    page_size: int = PAGE_SIZE,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
    on_results: ResultsFn | None = None,
    job_id: str | None = None,
) -> StoredRun:
    """Run evals (their current versions) over the set's or the workspace's traces and keep the results.

    An exception raised by ``progress`` (a cancel) stops the run at once: it is recorded as
    cancelled, the pages already finished stay stored, and the exception is raised again.
    """
    access.need("run")
    evals = runnable_evals(access, eval_set_id, eval_ids)
    if not evals:
        raise RunError("This eval set has no evals to run (kept, or written by hand and not rejected).")
    n_traces = result_store.count_scope(access, eval_set_id, scope)
    if not n_traces:
        raise RunError("No traces to run on: add traces to the eval set or run over all traces of the workspace.")
    level, missing = isolation_status()
    total = n_traces * len(evals)
    run_id = result_store.create_run(access, eval_set_id, [e.version_id for e in evals], total, level, job_id)
    sources = {e.version_id: e.source for e in evals}
    stop = _Stop()
    done = 0  # verdicts stored
    ran = 0  # verdicts of finished pages (stored, or being stored)
    started = time.perf_counter()

    def report(page_done: int, _total: int | None, message: str | None = None) -> None:
        if stop.reason or progress is None:
            return
        try:
            progress(ran + page_done, total, f"{ran + page_done:,} of {total:,} verdicts")
        except BaseException as exc:  # the caller asked to stop: end the page, record, re-raise
            stop.reason.append(exc)

    def stopping() -> bool:
        return bool(stop.reason) or (cancelled is not None and cancelled())

    # A page's results are written in this thread while the next page runs in the sandbox
    # (DuckDB releases the GIL): the index upkeep of a million results overlaps the evals.
    pending: list[tuple[Future, list[dict], dict[str, list[Verdict]]]] = []

    def settle() -> None:
        nonlocal done
        while pending:
            future, page, verdicts = pending.pop()
            done += future.result()
            result_store.set_run_progress(access, run_id, done, level)
            if on_results is not None:
                on_results(evals, page, verdicts)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="forge-eval-results") as writer:
        try:
            report(0, total)
            for page in result_store.iter_scope_traces(access, eval_set_id, scope, page_size, raw_json=True):
                if stopping():
                    break
                outcome = run_evals(
                    sources,
                    [_for_sandbox(t) for t in page],
                    timeout_s=timeout_s,
                    workers=workers or os.cpu_count(),
                    progress=report,
                    cancelled=stopping,
                )
                if stopping():
                    break  # this page's unfinished verdicts say "cancelled": they are not results
                if outcome.isolation != "full":
                    level, missing = "reduced", sorted(set(missing) | set(outcome.missing))
                ran += len(page) * len(sources)
                settle()
                pending.append((writer.submit(store_page, access, run_id, page, outcome), page, outcome.verdicts))
                report(0, total)
            settle()
        except BaseException as exc:
            for future, _, _ in pending:  # let a write under way end before the run is marked failed
                if future.exception() is None:
                    done += future.result()
            result_store.set_run_progress(access, run_id, done)
            result_store.finish_run(access, run_id, "failed", level, f"{type(exc).__name__}: {exc}"[:4000])
            raise
    seconds = time.perf_counter() - started
    if stopping():
        result_store.set_run_progress(access, run_id, done)
        result_store.finish_run(access, run_id, "cancelled", level, "Cancelled")
        if stop.reason:
            raise stop.reason[0]
        return StoredRun(run_id, "cancelled", level, missing, n_traces, len(evals), done, seconds)
    result_store.finish_run(access, run_id, "done", level)
    if progress is not None:
        progress(total, total, f"{total:,} verdicts")
    return StoredRun(run_id, "done", level, missing, n_traces, len(evals), done, seconds)


def store_page(access: Access, run_id: str, page: list[dict], outcome: RunOutcome) -> int:
    """Store one page's verdicts (every eval); how many."""
    ids = [t["id"] for t in page]
    cols: dict[str, list] = {
        k: [] for k in ("eval_version_id", "trace_id", "verdict", "reason", "error", "duration_ms")
    }
    for version_id, verdicts in outcome.verdicts.items():
        cols["eval_version_id"] += [version_id] * len(ids)
        cols["trace_id"] += ids
        cols["verdict"] += [v.verdict for v in verdicts]
        cols["reason"] += [v.reason for v in verdicts]
        cols["error"] += [v.error for v in verdicts]
        cols["duration_ms"] += [v.duration_ms for v in verdicts]
    result_store.store_results(access, run_id, cols)
    return len(cols["trace_id"])


def summarize(access: Access, run_id: str, labels: Mapping[str, str]) -> list[EvalRunSummary]:
    """Per eval version of a run: pass/fail/error counts and agreement with ``labels`` ({trace_id: pass|fail})."""
    run = result_store.get_run(access, run_id)
    if run is None:
        return []
    counts = result_store.run_counts(access, run_id)
    names = result_store.version_names(access, run.eval_version_ids)
    labelled = result_store.run_verdicts_on(access, run_id, list(labels))
    out = []
    for vid in run.eval_version_ids:
        if vid not in names:
            continue  # the eval was deleted since
        eval_id, name, origin, version = names[vid]
        c = counts.get(vid, {"passed": 0, "failed": 0, "errors": 0})
        verdicts = labelled.get(vid, {})
        shared = [t for t in labels if t in verdicts]
        metrics = eval_metrics([verdicts[t] for t in shared], [labels[t] for t in shared]) if shared else None
        out.append(EvalRunSummary(eval_id, name, origin, version, vid, c["passed"], c["failed"], c["errors"], metrics))
    return out


# ---------------------------------------------------------------- "try it" before saving


def pick_sample(
    access: Access, eval_set_id: str, labels: Mapping[str, str], k: int = SAMPLE_SIZE, seed: int = 0
) -> list[dict]:
    """A seeded sample of the set's traces: half rated pass, half rated fail where there are, then unrated ones."""
    rng = random.Random(seed)
    passes = sorted(t for t, v in labels.items() if v == "pass")
    fails = sorted(t for t, v in labels.items() if v == "fail")
    picked = rng.sample(fails, min(len(fails), k - min(len(passes), k // 2)))
    picked += rng.sample(passes, min(len(passes), k - len(picked)))
    if len(picked) < k:
        others = [t for t in result_store.scope_trace_ids(access, eval_set_id) if t not in labels]
        picked += rng.sample(others, min(len(others), k - len(picked)))
    if len(picked) < k:  # a set with too few traces of its own: borrow the workspace's
        pool = [t for t in result_store.scope_trace_ids(access, eval_set_id, scope="workspace") if t not in picked]
        picked += rng.sample(pool, min(len(pool), k - len(picked)))
    return result_store.sample_traces(access, sorted(picked))


def try_eval(source: str, traces: Sequence[Mapping[str, Any]], timeout_s: float = DEFAULT_TIMEOUT_S) -> RunOutcome:
    """Run an unsaved eval on a few traces in the sandbox (nothing is stored); key "draft"."""
    return run_evals({"draft": source}, traces, timeout_s=timeout_s, workers=1)
