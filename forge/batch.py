"""Batch runs: a saved prompt version over a dataset's rows on several models, kept and judged.

Every row x model is one call through the playground's runner (its retries, timeouts and
context check), on a bounded pool of worker threads (FORGE_BATCH_CONCURRENCY, default 16).
Each result is kept as a run and as a playground trace, so it can be rated and evaluated.
A spend limit stops the batch cleanly: no call starts once what was spent plus the
estimates of the calls in flight plus its own estimate would pass the limit; what ran is kept.

Judging runs an eval set's kept evals over the batch's outputs in the sandbox (never here)
and keeps the verdicts like any eval run; :func:`judged` reads them back as a models x evals
table of pass rates (95 % Wilson intervals) and a rows x models grid of outputs.
"""

from __future__ import annotations

import difflib
import io
import os
import queue
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from forge import config
from forge.evals import metrics
from forge.evals import runs as eval_runs
from forge.evals.contract import DEFAULT_TIMEOUT_S
from forge.evals.metrics import combine_all_pass
from forge.evals.sandbox import isolation_status, run_evals
from forge.library.datasets import DatasetVersion, open_version_id
from forge.library.prompts import PromptVersion, context_blocks
from forge.llm import tokens
from forge.llm.base import Request, RunResult
from forge.llm.catalog import Catalog, load_catalog
from forge.llm.playground import run_rows
from forge.llm.prompts import PromptError, PromptSpec, variables_in
from forge.llm.retry import RetryPolicy
from forge.llm.runner import estimate, run_model
from forge.store import batches as batch_store
from forge.store import eval_results as result_store
from forge.store import new_id
from forge.store import runs as run_store
from forge.store.access import Access
from forge.store.types import Progress

DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 256
JUDGE_PAGE = 5_000  # outputs sent through the sandbox at once
_SAVE_EVERY_S = 0.5  # results are stored at least this often while a batch runs


class BatchError(ValueError):
    """A batch that cannot start: no models, no rows, a variable the dataset lacks, a bad limit."""


def concurrency_limit(override: int | None = None) -> int:
    """Calls in flight at once: ``override``, else FORGE_BATCH_CONCURRENCY, else 16 (1 to 256)."""
    raw = override if override is not None else config.get("FORGE_BATCH_CONCURRENCY")
    try:
        value = int(raw) if raw not in (None, "") else DEFAULT_CONCURRENCY
    except (TypeError, ValueError):
        raise BatchError(f"FORGE_BATCH_CONCURRENCY must be a whole number, got {raw!r}") from None
    return max(1, min(value, MAX_CONCURRENCY))


# ---------------------------------------------------------------- plan (render + estimate)


@dataclass
class BatchPlan:
    """What a batch will send: one rendered request per row, and the estimated cost per call."""

    prompt: PromptVersion
    dataset: DatasetVersion
    models: list[str]
    specs: list[PromptSpec]
    requests: list[Request]
    input_tokens: list[int]
    cell_cost: dict[tuple[int, str], float | None]
    problems: list[str] = field(default_factory=list)  # per model, e.g. a row that overflows its context

    @property
    def total_calls(self) -> int:
        return len(self.requests) * len(self.models)

    def model_estimate(self, model: str) -> float | None:
        """Estimated USD for every row on ``model`` (None when its price is unknown)."""
        costs = [self.cell_cost[(i, model)] for i in range(len(self.requests))]
        return None if any(c is None for c in costs) else sum(costs)

    @property
    def unknown_price(self) -> list[str]:
        return [m for m in self.models if self.model_estimate(m) is None]

    @property
    def estimate_usd(self) -> float:
        """The estimate over the models whose price is known."""
        return sum(c for c in self.cell_cost.values() if c is not None)


def _models(models: Sequence[str]) -> list[str]:
    out: list[str] = []
    for m in models or []:
        m = (m or "").strip()
        if m and m not in out:
            out.append(m)
    return out


def plan_batch(
    access: Access,
    prompt: PromptVersion,
    dataset: DatasetVersion,
    models: Sequence[str],
    catalog: Catalog | None = None,
) -> BatchPlan:
    """Render the prompt for every row and estimate each call; BatchError naming what is wrong."""
    access.need("read")
    models = _models(models)
    if not models:
        raise BatchError("no models: choose at least one model (provider/model, e.g. offline/echo)")
    if not dataset.rows:
        raise BatchError(f"dataset {dataset.label} has no rows")
    needed = [v for v in variables_in(prompt.template) + variables_in(prompt.system or "")]
    missing = sorted({v for v in needed if v not in dataset.columns})
    if missing:
        raise BatchError(
            f"prompt {prompt.name} v{prompt.version} uses "
            + ", ".join("{{" + v + "}}" for v in missing)
            + f" but dataset {dataset.label} has no such column (its columns: {', '.join(dataset.columns)})"
        )
    catalog = catalog or load_catalog()
    blocks = context_blocks(access, prompt)
    specs, requests, n_in = [], [], []
    cell_cost: dict[tuple[int, str], float | None] = {}
    overflow: dict[str, int] = {}
    for i, row in enumerate(dataset.rows):
        spec = prompt.spec(dict(row.vars), blocks)
        try:
            # Nobody watches a batch's text arrive: plain answers cost the SDK and us less than a stream.
            request = replace(spec.render(), stream=False)
        except PromptError as exc:
            raise BatchError(f"row {i + 1}: {exc}") from None
        specs.append(spec)
        requests.append(request)
        n_in.append(tokens.count_prompt(request.prompt, request.system))
        for est in estimate(models, request, catalog):
            cell_cost[(i, est.model)] = est.cost_usd
            if est.problem:
                overflow[est.model] = overflow.get(est.model, 0) + 1
    problems = [f"{m}: {n} row(s) cannot be sent (unknown model or too long)" for m, n in overflow.items()]
    return BatchPlan(prompt, dataset, models, specs, requests, n_in, cell_cost, problems)


# ---------------------------------------------------------------- run


@dataclass
class ModelSummary:
    model: str
    rows: int
    failed: int
    cost_usd: float | None
    latency_ms_p50: float | None

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "rows": self.rows,
            "failed": self.failed,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
            "latency_ms_p50": self.latency_ms_p50,
        }


@dataclass
class BatchOutcome:
    batch_id: str
    status: str  # done | stopped (spend limit) | cancelled | failed
    stop_reason: str | None
    total: int
    done: int
    spent_usd: float
    seconds: float
    results: list[tuple[int, RunResult]]  # (row index, result) of every call that ran

    def summaries(self, models: Sequence[str]) -> list[ModelSummary]:
        return summarize_results(self.results, models)

    def to_json(self) -> dict:
        return {
            "batch_id": self.batch_id,
            "status": self.status,
            "stop_reason": self.stop_reason,
            "total": self.total,
            "done": self.done,
            "spent_usd": round(self.spent_usd, 6),
            "seconds": round(self.seconds, 3),
        }


def summarize_results(results: Sequence[tuple[int, RunResult]], models: Sequence[str]) -> list[ModelSummary]:
    """Per model: calls made, failed ones, total cost (None when unknown) and median latency."""
    out = []
    for model in models:
        mine = [r for _, r in results if r.model == model]
        costs = [r.cost_usd for r in mine if r.ok]
        lat = [r.latency_ms for r in mine if r.ok and r.latency_ms is not None]
        out.append(
            ModelSummary(
                model,
                len(mine),
                sum(not r.ok for r in mine),
                None if any(c is None for c in costs) else sum(costs),
                round(statistics.median(lat), 2) if lat else None,
            )
        )
    return out


def run_batch(
    access: Access,
    plan: BatchPlan,
    *,
    max_cost_usd: float | None = None,
    concurrency: int | None = None,
    policy: RetryPolicy | None = None,
    progress: Progress | None = None,
    on_result: Callable[[int, RunResult], None] | None = None,
    batch_id: str | None = None,
    job_id: str | None = None,
    catalog: Catalog | None = None,
) -> BatchOutcome:
    """Run every row x model of ``plan`` and keep each result as a run and a trace.

    ``progress`` raising (a job's cancel) stops new calls; the calls in flight finish and
    everything that ran is stored before the exception is raised again.
    """
    access.need("run")
    access.need("import")  # each output becomes a trace
    if max_cost_usd is not None and max_cost_usd < 0:
        raise BatchError("the spend limit must be zero or more dollars")
    policy = policy or RetryPolicy.from_settings()
    catalog = catalog or load_catalog()
    workers = min(concurrency_limit(concurrency), plan.total_calls)
    batch_id = batch_id or new_id()
    total = plan.total_calls
    batch_store.create_batch(
        access,
        batch_id,
        prompt_version_id=plan.prompt.id,
        prompt_label=f"{plan.prompt.name} v{plan.prompt.version}",
        dataset_version_id=plan.dataset.id,
        dataset_label=plan.dataset.label,
        models=plan.models,
        total=total,
        estimate_usd=plan.estimate_usd,
        max_cost_usd=max_cost_usd,
        job_id=job_id,
    )
    cells = iter([(i, m) for i in range(len(plan.requests)) for m in plan.models])
    lock = threading.Lock()
    state = {"spent": 0.0, "inflight": 0.0, "stop": None}
    done_q: queue.Queue = queue.Queue()
    started = time.perf_counter()

    def take() -> tuple[int, str, float] | None:
        with lock:
            if state["stop"]:
                return None
            cell = next(cells, None)
            if cell is None:
                return None
            cost = plan.cell_cost.get(cell) or 0.0
            if max_cost_usd is not None and state["spent"] + state["inflight"] + cost > max_cost_usd + 1e-12:
                state["stop"] = (
                    "stopped",
                    f"spend limit ${max_cost_usd:.4g} reached: ${state['spent']:.4g} spent"
                    f" and ${state['inflight']:.4g} in flight; the next call (about ${cost:.4g}) would pass it",
                )
                return None
            state["inflight"] += cost
            return cell[0], cell[1], cost

    def work() -> None:
        while (job := take()) is not None:
            i, model, cost = job
            try:
                res = run_model(model, plan.requests[i], None, policy, catalog, plan.input_tokens[i])
            except Exception as exc:  # run_model never raises for a call; anything else is still this cell's failure
                res = RunResult(model=model, error=f"{type(exc).__name__}: {exc}", error_kind="error")
            with lock:
                state["inflight"] -= cost
                state["spent"] += res.cost_usd or 0.0
            done_q.put((i, res))
        done_q.put(None)  # this worker has finished

    threads = [threading.Thread(target=work, name=f"forge-batch-{n}", daemon=True) for n in range(workers)]
    for t in threads:
        t.start()
    results: list[tuple[int, RunResult]] = []
    pending: list[tuple[int, RunResult]] = []
    reason: list[BaseException] = []
    running, last_save = len(threads), time.monotonic()

    def flush() -> None:
        if not pending:
            return
        rows, cell_rows = [], []
        for i, res in pending:
            (row,) = run_rows(access, plan.specs[i], plan.requests[i], [res], batch_id, plan.prompt.id)
            data = plan.dataset.rows[i]
            # The dataset row travels with the trace: an eval can compare the output with the expected one.
            row["trace_metadata"] = {
                "dataset": plan.dataset.label,
                "dataset_row": i + 1,
                "expected": data.expected,
                "notes": data.notes,
            }
            rows.append(row)
            cell_rows.append((i, res.model, row["id"]))
        run_store.save_runs(access, rows)
        with lock:
            spent = state["spent"]
        batch_store.add_cells(access, batch_id, cell_rows, spent)
        pending.clear()

    try:
        while running:
            try:
                item = done_q.get(timeout=0.1)
            except queue.Empty:
                item = False
            if item is None:
                running -= 1
            elif item:
                results.append(item)
                pending.append(item)
                if on_result is not None:
                    on_result(*item)
            if pending and (time.monotonic() - last_save >= _SAVE_EVERY_S or not running):
                flush()
                last_save = time.monotonic()
            if progress is not None and not reason:
                try:
                    progress(len(results), total, f"{len(results):,} of {total:,} calls")
                except BaseException as exc:  # a cancel: no new calls, let those in flight end and keep them
                    reason.append(exc)
                    with lock:
                        state["stop"] = ("cancelled", "cancelled by a user")
        flush()
    except BaseException as exc:
        with lock:
            state["stop"] = ("failed", f"{type(exc).__name__}: {exc}")
        for t in threads:
            t.join()
        batch_store.finish_batch(access, batch_id, "failed", f"{type(exc).__name__}: {exc}"[:4000], state["spent"])
        raise
    status, stop_reason = state["stop"] or ("done", None)
    batch_store.finish_batch(access, batch_id, status, stop_reason, state["spent"])
    if reason:
        raise reason[0]
    return BatchOutcome(
        batch_id, status, stop_reason, total, len(results), state["spent"], time.perf_counter() - started, results
    )


# ---------------------------------------------------------------- judge


@dataclass
class JudgeOutcome:
    eval_run_id: str
    status: str
    isolation: str
    missing: list[str]
    outputs: int
    evals: int
    seconds: float


def judge_batch(
    access: Access,
    batch_id: str,
    eval_set_id: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    workers: int | None = None,
    progress: Progress | None = None,
    job_id: str | None = None,
) -> JudgeOutcome:
    """Run the set's kept evals over the batch's outputs in the sandbox; the verdicts are kept as an eval run.

    Failed calls have no output and are not judged (they show as call errors).
    """
    access.need("run")
    batch = batch_store.get_batch(access, batch_id)
    if batch is None:
        raise BatchError(f"no batch {batch_id} in this workspace")
    evals = eval_runs.runnable_evals(access, eval_set_id)
    if not evals:
        raise BatchError("this eval set has no evals to judge with (kept, or written by hand and not rejected)")
    trace_ids = [c["trace_id"] for c in batch_store.cells(access, batch_id) if c["trace_id"] and not c["error"]]
    if not trace_ids:
        raise BatchError("this batch has no successful output to judge")
    level, missing = isolation_status()
    total = len(trace_ids) * len(evals)
    run_id = result_store.create_run(access, eval_set_id, [e.version_id for e in evals], total, level, job_id)
    sources = {e.version_id: e.source for e in evals}
    started, done = time.perf_counter(), 0
    try:
        for start in range(0, len(trace_ids), JUDGE_PAGE):
            page = result_store.sample_traces(access, trace_ids[start : start + JUDGE_PAGE])

            def report(n: int, _total: int | None, _msg: str | None = None, base: int = done) -> None:
                if progress is not None:
                    progress(base + n, total, f"{base + n:,} of {total:,} verdicts")

            outcome = run_evals(sources, page, timeout_s=timeout_s, workers=workers or os.cpu_count(), progress=report)
            if outcome.isolation != "full":
                level, missing = "reduced", sorted(set(missing) | set(outcome.missing))
            done += eval_runs.store_page(access, run_id, page, outcome)  # as a stored eval run keeps a page
            result_store.set_run_progress(access, run_id, done, level)
    except BaseException as exc:
        cancelled = "Cancel" in type(exc).__name__
        result_store.finish_run(
            access, run_id, "cancelled" if cancelled else "failed", level, f"{type(exc).__name__}: {exc}"[:4000]
        )
        raise
    result_store.finish_run(access, run_id, "done", level)
    batch_store.set_judged(access, batch_id, eval_set_id, run_id)
    return JudgeOutcome(run_id, "done", level, missing, len(trace_ids), len(evals), time.perf_counter() - started)


# ---------------------------------------------------------------- the judged views


@dataclass(frozen=True)
class Rate:
    """A pass rate with its 95 % Wilson interval (None when nothing was judged)."""

    passed: int
    n: int
    errors: int
    low: float | None
    high: float | None

    @property
    def value(self) -> float | None:
        return self.passed / self.n if self.n else None


def wilson(passed: int, n: int, errors: int = 0) -> Rate:
    """A pass rate and its 95 % Wilson interval (the interval forge.evals.metrics gives every eval figure)."""
    interval = metrics.wilson(passed, n)
    return Rate(passed, n, errors, interval.low, interval.high)


ALL_EVALS = "all evals"


@dataclass
class Judged:
    """A batch's results: per model x eval pass rates, per model cost/latency, and the rows x models grid."""

    batch: dict
    models: list[str]
    evals: list[str]  # eval labels ("name vN"), in the run's order
    rates: dict[tuple[str, str], Rate]  # (model, eval label or ALL_EVALS) -> rate
    model_figures: list[ModelSummary]
    grid: pd.DataFrame  # one row per (dataset row, model): output, error, verdicts, differs, similarity
    isolation: str | None = None

    def rates_table(self) -> pd.DataFrame:
        """Models x evals: pass rate [low-high] (n), then cost and latency per model."""
        records = []
        figures = {f.model: f for f in self.model_figures}
        for model in self.models:
            rec: dict = {"model": model}
            for label in [*self.evals, ALL_EVALS]:
                rate = self.rates.get((model, label))
                rec[label] = rate.value if rate else None
                rec[f"{label} 95% CI"] = (
                    f"{rate.low:.0%}-{rate.high:.0%} (n={rate.n})" if rate and rate.low is not None else ""
                )
            fig = figures.get(model)
            rec["failed calls"] = fig.failed if fig else 0
            rec["cost (USD)"] = fig.cost_usd if fig else None
            rec["latency p50 (ms)"] = fig.latency_ms_p50 if fig else None
            records.append(rec)
        return pd.DataFrame(records)

    def filtered(self, failing_only: bool = False, disagreeing_only: bool = False) -> pd.DataFrame:
        """The grid's rows (every model of a dataset row together) that fail somewhere / where models disagree."""
        grid = self.grid
        if grid.empty:
            return grid
        keep = pd.Series(True, index=grid.index)
        if failing_only:
            bad = grid.groupby("row")["failing"].transform("any")
            keep &= bad
        if disagreeing_only:
            keep &= grid.groupby("row")["disagree"].transform("any")
        return grid[keep]


def _label(names: dict, vid: str) -> str:
    _eval_id, name, _origin, version = names[vid]
    return f"{name} v{version}"


def judged(access: Access, batch_id: str) -> Judged:
    """The batch's outputs with the verdicts of its last judging (none yet: the grid without verdicts)."""
    batch = batch_store.get_batch(access, batch_id)
    if batch is None:
        raise LookupError(f"no batch {batch_id} in this workspace")
    cells = batch_store.cells(access, batch_id)
    models = list(batch["models"])
    run = result_store.get_run(access, batch["eval_run_id"]) if batch.get("eval_run_id") else None
    names = result_store.version_names(access, run.eval_version_ids) if run else {}
    vids = sorted((v for v in (run.eval_version_ids if run else []) if v in names), key=lambda v: _label(names, v))
    labels = [_label(names, v) for v in vids]
    by_trace: dict[str, dict[str, tuple]] = {}
    for trace_id, vid, verdict, reason, error in batch_store.verdicts(access, batch_id, vids):
        by_trace.setdefault(trace_id, {})[vid] = (verdict, reason, error)
    results = [
        (
            c["row_index"],
            RunResult(
                model=c["model"],
                output=c["output"] or "",
                error=c["error"],
                latency_ms=c["latency_ms"],
                cost_usd=c["cost_usd"],
            ),
        )
        for c in cells
    ]
    figures = summarize_results(results, models)
    try:
        expected = [r.expected or "" for r in open_version_id(access, batch["dataset_version_id"]).rows]
    except LookupError:  # the dataset was deleted since: the outputs stand alone
        expected = []
    records = []
    first_output: dict[int, str | None] = {}
    for c in cells:
        if c["row_index"] not in first_output and c["model"] == models[0]:
            first_output[c["row_index"]] = None if c["error"] else (c["output"] or "")
    for c in cells:
        got = by_trace.get(c["trace_id"], {})
        rec = {
            "row": c["row_index"] + 1,
            "model": c["model"],
            "variables": c["variables"] or {},
            "expected": expected[c["row_index"]] if c["row_index"] < len(expected) else "",
            "output": c["output"] or "",
            "error": c["error"] or "",
            "latency_ms": c["latency_ms"],
            "cost_usd": c["cost_usd"],
            "input_tokens": c["input_tokens"],
            "output_tokens": c["output_tokens"],
            "trace_id": c["trace_id"],
        }
        verdicts = []
        for vid, label in zip(vids, labels, strict=True):
            verdict = got.get(vid, (None, None, "not judged" if c["error"] else None))
            rec[label] = verdict[0]
            rec[f"{label} reason"] = verdict[1] or verdict[2] or ""
            verdicts.append(verdict[0] if vid in got else None)
        rec[ALL_EVALS] = combine_all_pass([[v] for v in verdicts])[0] if verdicts and not c["error"] else None
        base = first_output.get(c["row_index"])
        rec["similarity"] = None if c["error"] or base is None else similarity(base, c["output"] or "")
        rec["differs"] = bool(c["error"]) or base is None or (c["output"] or "") != base
        rec["failing"] = bool(c["error"]) or any(v is False for v in verdicts)
        records.append(rec)
    grid = pd.DataFrame(records)
    if not grid.empty:
        # Models disagree on a row when, for some eval, their verdicts differ (unjudged: when their outputs
        # differ); a failed call has neither and takes no side.
        ok = grid["error"] == ""
        keys = [grid[label].map(lambda v: None if v is None else str(v)) for label in labels] or [grid["output"]]
        disagree = pd.Series(False, index=grid.index)
        for key in keys:
            disagree |= key.where(ok).groupby(grid["row"]).transform("nunique") > 1
        grid["disagree"] = disagree
    rates: dict[tuple[str, str], Rate] = {}
    if vids and not grid.empty:
        for model in models:
            mine = grid[(grid["model"] == model) & (grid["error"] == "")]
            for label in [*labels, ALL_EVALS]:
                col = mine[label]
                passed = int((col == True).sum())  # noqa: E712 - a column of True/False/None
                failed = int((col == False).sum())  # noqa: E712
                rates[(model, label)] = wilson(passed, passed + failed, int(col.isna().sum()))
    return Judged(batch, models, labels, rates, figures, grid, run.isolation if run else None)


def similarity(base: str, other: str) -> float:
    """Share of words two outputs have in common, in order (1.0 when equal); by words, not characters: fast."""
    if base == other:
        return 1.0
    return round(difflib.SequenceMatcher(None, base.split(), other.split(), autojunk=False).ratio(), 3)


def output_diff(base: str, other: str) -> list[tuple[str, str]]:
    """(kind, text) pieces of ``other`` against ``base``: kind is '=', '+' (only in other) or '-' (only in base)."""
    a, b = base.split(" "), other.split(" ")
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("=", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("+", " ".join(b[j1:j2])))
    return out


def export_frame(j: Judged) -> pd.DataFrame:
    """The grid flat for CSV/Parquet: row, each variable, model, output, error, figures, one column per eval."""
    if j.grid.empty:
        return j.grid
    variables = pd.json_normalize(j.grid["variables"].tolist()).add_prefix("var_")
    keep = [c for c in j.grid.columns if c not in ("variables", "failing", "disagree")]
    out = pd.concat(
        [j.grid[["row"]].reset_index(drop=True), variables, j.grid[keep[1:]].reset_index(drop=True)], axis=1
    )
    for label in [*j.evals, ALL_EVALS]:
        if label in out:
            out[label] = out[label].map(lambda v: None if v is None or v != v else ("pass" if v else "fail"))
    return out


def export_bytes(j: Judged, fmt: str) -> bytes:
    """The export as CSV or Parquet bytes."""
    frame = export_frame(j)
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8")
    if fmt == "parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return buf.getvalue()
    raise ValueError("format must be csv or parquet")
