"""Evals written by an LLM: ask for K candidates, check each, repair once, keep what passes.

Calls go through forge.llm (any configured provider: OpenAI, Anthropic, OpenAI-compatible,
offline), so retries, timeouts and prices are the playground's. ``check(source)`` is injected:
the caller validates the source and runs it in the sandbox on the examples, returning None when
it is fine and an error message otherwise. Everything is returned as values: a failed provider
call is an ``error`` on the result that keeps the candidates already made, never an exception.
When Langfuse is configured, every call is also sent to it as a generation (see
:mod:`forge.evals.langfuse_export`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

from forge import config
from forge.evals.contract import ProgressFn
from forge.evals.langfuse_export import GenerationTracer
from forge.evals.meta_prompt import (
    DEFAULT_K,
    MAX_EXAMPLES,
    Candidate,
    Contradiction,
    MetaPrompt,
    RatedExample,
    build_meta_prompt,
    build_refine_prompt,
    build_repair_prompt,
    parse_candidates,
)
from forge.llm.base import RunResult
from forge.llm.catalog import Catalog, load_catalog
from forge.llm.retry import RetryPolicy
from forge.llm.runner import run_model

# Writing several functions takes a model far longer than a chat answer.
GENERATION_TIMEOUT_S = 300.0

CheckFn = Callable[[str], "str | None"]

KEPT, REPAIRED, DROPPED, UNCHECKED = "valid", "repaired", "dropped", "unchecked"


@dataclass(frozen=True)
class Usage:
    """Tokens, cost and time of one or more model calls. ``cost_usd`` is None when the price is unknown."""

    input_tokens: int = 0
    output_tokens: int = 0
    tokens_estimated: bool = False
    cost_usd: float | None = 0.0
    duration_ms: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost_usd is None or other.cost_usd is None else self.cost_usd + other.cost_usd
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.tokens_estimated or other.tokens_estimated,
            cost,
            self.duration_ms + other.duration_ms,
        )

    def split(self, n: int) -> list[Usage]:
        """``n`` shares that add up to this usage (token remainders go to the first shares)."""
        if n <= 0:
            return []
        qi, ri = divmod(self.input_tokens, n)
        qo, ro = divmod(self.output_tokens, n)
        cost = None if self.cost_usd is None else self.cost_usd / n
        return [
            Usage(qi + (i < ri), qo + (i < ro), self.tokens_estimated, cost, self.duration_ms / n) for i in range(n)
        ]

    @classmethod
    def of(cls, result: RunResult) -> Usage:
        """The usage of one call; a failed call costs its time only."""
        duration = result.latency_ms or 0.0
        if not result.ok:
            return cls(duration_ms=duration)
        return cls(
            result.input_tokens or 0, result.output_tokens or 0, result.tokens_estimated, result.cost_usd, duration
        )


@dataclass(frozen=True)
class CallRecord:
    """One call to the model: what it was for, its usage, its error if it failed."""

    purpose: str  # "generate", "repair <name>" or "refine"
    usage: Usage
    error: str | None = None
    error_kind: str | None = None
    output: str = ""


@dataclass(frozen=True)
class GeneratedCandidate:
    """A candidate eval and what became of it: ``valid``, ``repaired``, ``dropped`` (with why) or ``unchecked``."""

    name: str
    rationale: str
    source: str  # the final source: the repaired one when repaired, the last attempt when dropped
    status: str
    error: str | None = None  # why it was dropped (or left unchecked)
    first_error: str | None = None  # what the first check said, when it needed a repair
    original_source: str | None = None  # the source before the repair
    usage: Usage = field(default_factory=Usage)  # its share of the generating call plus its own repair
    check_ms: float = 0.0  # time spent checking it (validation and the run on the examples)

    @property
    def kept(self) -> bool:
        return self.status in (KEPT, REPAIRED)


@dataclass
class GenerationResult:
    """The outcome of one generation (or refinement): candidates, calls, totals and any error."""

    model: str
    prompt: MetaPrompt | None = None
    candidates: list[GeneratedCandidate] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)
    error: str | None = None  # why the work stopped early (a failed provider call), redacted
    error_kind: str | None = None
    cancelled: bool = False
    duration_ms: float = 0.0  # wall time, checks included
    traced_to_langfuse: bool = False

    @property
    def usage(self) -> Usage:
        """Every call's tokens, cost and time together."""
        total = Usage()
        for call in self.calls:
            total = total + call.usage
        return total

    @property
    def kept(self) -> list[GeneratedCandidate]:
        return [c for c in self.candidates if c.kept]

    @property
    def dropped(self) -> list[GeneratedCandidate]:
        return [c for c in self.candidates if not c.kept]

    @property
    def ok(self) -> bool:
        """True when the work finished without a provider error or a cancel."""
        return self.error is None and not self.cancelled

    def to_json(self) -> dict:
        """A JSON-ready form (for jobs, the store and ``--json``): candidates, calls, totals."""
        out = asdict(self)
        out["usage"] = asdict(self.usage)
        for call in out["calls"]:
            call.pop("output", None)  # the raw answers are in the candidates already
        return out


# ---------------------------------------------------------------- internals


def _same_code(a: str, b: str) -> bool:
    """Equal but for blank lines and trailing spaces."""

    def norm(src: str) -> list[str]:
        return [line.rstrip() for line in src.splitlines() if line.strip()]

    return norm(a) == norm(b)


class _Session:
    """The shared machinery of one generation or refinement: calls, checks, progress, cancel, tracing."""

    def __init__(self, model, check, progress, cancelled, policy, catalog, trace_name: str, trace_input: dict):
        self.started = time.perf_counter()
        self.model = (model or "").strip()
        self.check_fn = check
        self.progress_fn = progress
        self.cancelled_fn = cancelled
        self.catalog = catalog or load_catalog()
        self.policy = policy or RetryPolicy.from_settings(
            timeout=max(GENERATION_TIMEOUT_S, RetryPolicy.from_settings().timeout)
        )
        info = self.catalog.get(self.model)
        self.context_window = info.context_window if info else None
        self.tracer = GenerationTracer.for_settings(trace_name, trace_input)
        self.result = GenerationResult(model=self.model, traced_to_langfuse=self.tracer.enabled)

    def progress(self, done: int, total: int | None, message: str) -> None:
        if self.progress_fn:
            try:
                self.progress_fn(done, total, message)
            except Exception:  # a display callback must not stop the work
                pass

    def is_cancelled(self) -> bool:
        if self.cancelled_fn is None:
            return False
        try:
            stop = bool(self.cancelled_fn())
        except Exception:
            stop = False
        if stop:
            self.result.cancelled = True
        return stop

    def call(self, purpose: str, prompt: MetaPrompt) -> RunResult:
        """One model call, recorded (and traced); a failure sets the result's error."""
        handle = self.tracer.start(purpose, self.model, prompt)
        res = run_model(self.model, prompt.request(), policy=self.policy, catalog=self.catalog)
        self.tracer.end(handle, res)
        error = config.redact(res.error)
        self.result.calls.append(CallRecord(purpose, Usage.of(res), error, res.error_kind, res.output))
        if error:
            self.result.error, self.result.error_kind = f"{purpose}: {error}", res.error_kind
        return res

    def check(self, source: str) -> tuple[str | None, float]:
        """The injected check's message (None when the source is fine) and how long it took (ms)."""
        t0 = time.perf_counter()
        try:
            message = self.check_fn(source)
        except Exception as exc:  # the caller's check failing is this candidate's problem, not a crash
            message = f"the check itself failed ({type(exc).__name__}: {exc})"
        return (None if message is None else str(message)), (time.perf_counter() - t0) * 1000

    def settle(self, criterion: str, cand: Candidate, share: Usage) -> GeneratedCandidate:
        """Check one candidate; repair it once when it fails; the outcome as a value."""
        first, check_ms = self.check(cand.source)
        base = GeneratedCandidate(cand.name, cand.rationale, cand.source, KEPT, usage=share, check_ms=check_ms)
        if first is None:
            return base
        dropped = replace(base, status=DROPPED, first_error=first)
        if self.result.error is not None:  # the provider already failed: no repair call, but it was checked
            return replace(dropped, error=f"not repaired (the provider failed earlier); it failed: {first}")
        if self.is_cancelled():
            return replace(dropped, error=f"cancelled before its repair; it failed: {first}")
        res = self.call(
            f"repair {cand.name}", build_repair_prompt(criterion, cand, first, context_window=self.context_window)
        )
        dropped = replace(dropped, usage=share + Usage.of(res))
        if not res.ok:
            return replace(dropped, error=f"its repair call failed ({config.redact(res.error)}); it failed: {first}")
        fixed = parse_candidates(res.output)
        if not fixed:
            return replace(dropped, error=f"the repair answer held no eval; it failed: {first}")
        second, second_ms = self.check(fixed[0].source)
        after = replace(
            dropped,
            rationale=fixed[0].rationale or cand.rationale,
            source=fixed[0].source,
            original_source=cand.source,
            check_ms=check_ms + second_ms,
        )
        if second is None:
            return replace(after, status=REPAIRED)
        return replace(after, error=f"still failing after one repair: {second}")

    def settle_all(self, criterion: str, candidates: list[Candidate], initial: Usage, step0: int) -> None:
        shares = initial.split(len(candidates))
        total = step0 + len(candidates)
        for i, (cand, share) in enumerate(zip(candidates, shares, strict=True)):
            unchecked = GeneratedCandidate(cand.name, cand.rationale, cand.source, UNCHECKED, usage=share)
            if self.result.cancelled or self.is_cancelled():
                self.result.candidates.append(replace(unchecked, error="cancelled before it was checked"))
                continue
            twin = next((c for c in self.result.candidates if _same_code(c.source, cand.source)), None)
            if twin is not None:  # the model repeated itself: checking it again would only add a duplicate
                self.result.candidates.append(replace(unchecked, status=DROPPED, error=f"the same code as {twin.name}"))
                continue
            self.progress(step0 + i, total, f"Checking {cand.name}")
            outcome = self.settle(criterion, cand, share)
            self.result.candidates.append(outcome)
            self.progress(step0 + i + 1, total, f"{cand.name}: {outcome.status}")

    def run(self, criterion: str, purpose: str, prompt: MetaPrompt, announce: str, limit: int | None = None):
        """Send ``prompt``, read the candidates (at most ``limit``), settle each; the finished result."""
        self.result.prompt = prompt
        if self.is_cancelled():
            return self.finish()
        self.progress(0, None, announce)
        res = self.call(purpose, prompt)
        if not res.ok:
            return self.finish()
        candidates = parse_candidates(res.output)[:limit]
        if not candidates:
            self.result.error = f"{purpose}: the answer held no eval (no ```python block defining evaluate)"
            self.result.error_kind = "no_candidates"
            return self.finish()
        self.progress(1, 1 + len(candidates), f"{len(candidates)} candidate(s) written")
        self.settle_all(criterion, candidates, Usage.of(res), 1)
        return self.finish()

    def finish(self) -> GenerationResult:
        result = self.result
        result.duration_ms = round((time.perf_counter() - self.started) * 1000, 2)
        usage = result.usage
        self.tracer.finish(
            {
                "kept": [c.name for c in result.kept],
                "dropped": {c.name: c.error for c in result.dropped},
                "error": result.error,
                "cancelled": result.cancelled,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cost_usd": usage.cost_usd,
            }
        )
        return result


# ---------------------------------------------------------------- public


def sandbox_check(traces: Sequence[dict], runner=None) -> CheckFn:
    """The product's check: static validation, then a sandbox run on the example traces.

    Returns None when the source is valid and runs without error on every example, else the first
    problem (the validation message, or the error on an example with that trace's id) for the repair."""
    from forge.evals.validate import validate_source

    def check(source: str) -> str | None:
        problem = validate_source(source)
        if problem:
            return problem
        if not traces:
            return None
        if runner is None:
            from forge.evals.sandbox import run_evals

            verdicts = run_evals({"candidate": source}, traces).verdicts["candidate"]
        else:
            verdicts = runner({"candidate": source}, traces)["candidate"]
        for trace, verdict in zip(traces, verdicts, strict=True):
            if verdict.error:
                return f"{verdict.error} (on trace {trace.get('id')})"
        return None

    return check


def generate_candidates(
    model: str,
    criterion: str,
    examples: Sequence[RatedExample],
    *,
    k: int = DEFAULT_K,
    check: CheckFn,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
    seed: int = 0,
    max_examples: int = MAX_EXAMPLES,
    policy: RetryPolicy | None = None,
    catalog: Catalog | None = None,
) -> GenerationResult:
    """Ask ``model`` (``provider/model``) for ``k`` candidate evals, check each, repair a failing one once."""
    s = _Session(
        model,
        check,
        progress,
        cancelled,
        policy,
        catalog,
        "forge eval generate",
        {"criterion": criterion, "k": k, "examples": len(examples)},
    )
    prompt = build_meta_prompt(criterion, examples, k, s.context_window, seed=seed, max_examples=max_examples)
    announce = f"Asking {s.model} for {k} candidate evals ({prompt.examples_used} examples)"
    return s.run(criterion, "generate", prompt, announce, limit=max(1, k))


def refine_eval(
    model: str,
    criterion: str,
    source: str,
    contradictions: Sequence[Contradiction],
    *,
    check: CheckFn,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
    seed: int = 0,
    policy: RetryPolicy | None = None,
    catalog: Catalog | None = None,
) -> GenerationResult:
    """A new version of ``source`` from the traces where it disagrees with humans (at most one candidate)."""
    s = _Session(
        model,
        check,
        progress,
        cancelled,
        policy,
        catalog,
        "forge eval refine",
        {"criterion": criterion, "contradictions": len(contradictions)},
    )
    prompt = build_refine_prompt(criterion, source, contradictions, context_window=s.context_window, seed=seed)
    announce = f"Asking {s.model} to refine the eval ({prompt.examples_used} contradictions)"
    return s.run(criterion, "refine", prompt, announce, limit=1)
