"""Fan-out: one request to N models concurrently; each model's outcome is a RunResult value.

One model's failure (timeout, 429, 5xx, bad key, unknown model) never loses
another's result. 429 and 5xx are retried with backoff honouring Retry-After;
every request has a timeout; a prompt that overflows a model's context window
is refused before anything is sent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from forge import config
from forge.llm import tokens
from forge.llm.base import ContextOverflowError, LLMError, Request, RetryableError, RunResult
from forge.llm.catalog import Catalog, load_catalog, split_model
from forge.llm.registry import known_provider, provider_names, resolve
from forge.llm.retry import RetryPolicy

# on_delta(model, text): streamed text as it arrives (called from worker threads).
FanoutDelta = Callable[[str, str], None]
# on_result(result): each model's result as soon as it is final (worker threads).
ResultCallback = Callable[[RunResult], None]
ESTIMATE_OUTPUT_TOKENS = 1024  # assumed output length for the estimate when max_tokens is unset
MAX_TEMPERATURE = 2.0  # OpenAI's and Anthropic's upper bound (Anthropic stops at 1; it says so itself)
MAX_TOKENS_LIMIT = 1_000_000


class RunInputError(ValueError):
    """A run asked for something no model can do (bad model name, parameter out of range): nothing is sent."""


def _model_problem(model: str, catalog: Catalog) -> str | None:
    try:
        provider, _ = split_model(model)
    except LLMError as exc:
        return str(exc)
    if not known_provider(provider, catalog):
        return (
            f"unknown provider '{provider}' in model '{model}' - use one of {', '.join(provider_names(catalog))},"
            f" or declare [endpoints.{provider}] with its base_url in the model catalog ({catalog.path})"
        )
    return None


def param_problems(temperature: object = None, max_tokens: object = None) -> list[str]:
    """Why these parameters are refused (one line each): temperature finite in 0..2, max tokens 1..1,000,000."""
    problems: list[str] = []
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            problems.append(f"temperature must be a number from 0 to {MAX_TEMPERATURE:g}, got {temperature!r}")
        elif not math.isfinite(temperature) or not 0 <= temperature <= MAX_TEMPERATURE:
            problems.append(f"temperature must be a number from 0 to {MAX_TEMPERATURE:g}, got {temperature}")
    if max_tokens is not None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
            problems.append(f"max tokens must be a whole number from 1 to {MAX_TOKENS_LIMIT:,}, got {max_tokens!r}")
    return problems


def run_input_problems(
    models: list[str],
    temperature: object = None,
    max_tokens: object = None,
    catalog: Catalog | None = None,
) -> list[str]:
    """Why a run of ``models`` with these parameters cannot start (one line each); [] when it can.

    The one check the Playground page, ``forge run`` and the API share.
    """
    catalog = catalog or load_catalog()
    problems: list[str] = []
    names = [(m or "").strip() for m in models]
    if not any(names):
        problems.append("no models: give at least one provider/model (e.g. offline/echo)")
    seen: set[str] = set()
    for model in names:
        problem = _model_problem(model, catalog) if model else None
        if problem and problem not in seen:
            seen.add(problem)
            problems.append(problem)
    return problems + param_problems(temperature, max_tokens)


def validate_run(
    models: list[str] | None, temperature: object = None, max_tokens: object = None, catalog: Catalog | None = None
) -> None:
    """Raise RunInputError naming every problem of :func:`run_input_problems` (nothing is sent then).

    With ``models`` None only the parameters are checked (a stored run keeps an unknown model's failure as data).
    """
    if models is None:
        problems = param_problems(temperature, max_tokens)
    else:
        problems = run_input_problems(models, temperature, max_tokens, catalog)
    if problems:
        raise RunInputError("; ".join(problems))


@dataclass(frozen=True)
class Estimate:
    """The pre-run estimate for one model."""

    model: str
    input_tokens: int
    output_tokens: int  # max_tokens, or ESTIMATE_OUTPUT_TOKENS when unset
    context_window: int | None
    cost_usd: float | None  # input + that many output tokens; None when the price is unknown
    problem: str | None  # e.g. the prompt does not fit


def _context_problem(model: str, input_tokens: int, max_tokens: int | None, window: int | None) -> str | None:
    if not window:
        return None
    need = input_tokens + (max_tokens or 0)
    if need > window:
        extra = f" plus max_tokens {max_tokens}" if max_tokens else ""
        return (
            f"The prompt is about {input_tokens:,} tokens{extra}, more than {model}'s context window"
            f" of {window:,} tokens - shorten the prompt or context" + (", or lower max_tokens" if max_tokens else "")
        )
    return None


def estimate(models: list[str], request: Request, catalog: Catalog | None = None) -> list[Estimate]:
    """Tokens and cost per model before running (token counts are estimates)."""
    catalog = catalog or load_catalog()
    n_in = tokens.count_prompt(request.prompt, request.system)
    n_out = request.max_tokens or ESTIMATE_OUTPUT_TOKENS
    out = []
    for model in models:
        info = catalog.get(model)
        problem = None
        try:
            split_model(model)
        except LLMError as exc:
            problem = str(exc)
        window = info.context_window if info else None
        problem = problem or _context_problem(model, n_in, request.max_tokens, window)
        cost = info.cost(n_in, n_out) if info else None
        out.append(Estimate(model, n_in, n_out, window, cost, problem))
    return out


def run_model(
    model: str,
    request: Request,
    on_delta: FanoutDelta | None = None,
    policy: RetryPolicy | None = None,
    catalog: Catalog | None = None,
    input_estimate: int | None = None,
) -> RunResult:
    """One model, start to finish, as a RunResult (never raises for a failed call).

    ``latency_ms`` is the wall time of the call(s) to the provider, retries included.
    """
    policy = policy or RetryPolicy.from_settings()
    catalog = catalog or load_catalog()
    model = (model or "").strip()
    result = RunResult(model=model)
    t0 = time.perf_counter()

    def finish() -> RunResult:
        result.latency_ms = round((time.perf_counter() - t0) * 1000, 2)
        # An endpoint may echo the key in its error; errors are stored and shown, keys never.
        result.error = config.redact(result.error)
        return result

    try:
        provider, model_id = resolve(model, catalog)
        result.provider = provider.name
        info = catalog.get(model)
        est_in = input_estimate if input_estimate is not None else tokens.count_prompt(request.prompt, request.system)
        problem = _context_problem(model, est_in, request.max_tokens, info.context_window if info else None)
        if problem:
            raise ContextOverflowError(problem)
    except LLMError as exc:
        result.error, result.error_kind = str(exc), exc.kind
        return finish()

    emitted = False
    t0 = time.perf_counter()  # latency is the provider's time, not our set-up

    def delta(text: str) -> None:
        nonlocal emitted
        emitted = True
        if on_delta:
            on_delta(model, text)

    while True:
        result.attempts += 1
        try:
            completion = provider.complete(model_id, request, delta, policy.timeout)
            break
        except RetryableError as exc:
            # Never retry once text was shown: the user would see it twice.
            if result.attempts > policy.max_retries or emitted:
                msg = str(exc)
                if result.attempts > 1:
                    msg += f" (gave up after {result.attempts} attempts)"
                result.error, result.error_kind = msg, exc.kind
                return finish()
            time.sleep(policy.wait(result.attempts, exc.retry_after))
        except LLMError as exc:
            result.error, result.error_kind = str(exc), exc.kind
            return finish()
        except Exception as exc:  # an SDK or network surprise is still just this model's failure
            name = type(exc).__name__
            if "timeout" in name.lower():
                result.error, result.error_kind = f"Timed out after {policy.timeout:g} s ({name})", "timeout"
            else:
                result.error, result.error_kind = f"Unexpected error from {model} ({name}): {exc}", "error"
            return finish()

    result.output = completion.output or ""
    result.ttft_ms = round(completion.ttft_ms, 2) if completion.ttft_ms is not None else None
    n_in, n_out = completion.input_tokens, completion.output_tokens
    if n_in is None or n_out is None:
        result.tokens_estimated = True
        if n_in is None:
            n_in = est_in
        if n_out is None:
            n_out = tokens.count(result.output)
    result.input_tokens, result.output_tokens = n_in, n_out
    result.price_known = bool(info and info.price_known)
    result.cost_usd = info.cost(n_in, n_out) if info else None
    return finish()


def run_fanout(
    models: list[str],
    request: Request,
    on_delta: FanoutDelta | None = None,
    on_result: ResultCallback | None = None,
    policy: RetryPolicy | None = None,
    catalog: Catalog | None = None,
) -> list[RunResult]:
    """The same request to every model at once; results in the order of ``models``."""
    if not models:
        return []
    policy = policy or RetryPolicy.from_settings()
    catalog = catalog or load_catalog()
    est_in = tokens.count_prompt(request.prompt, request.system)  # once, not per model

    def one(model: str) -> RunResult:
        res = run_model(model, request, on_delta, policy, catalog, est_in)
        if on_result:
            try:
                on_result(res)
            except Exception:  # a display callback must not lose the result
                pass
        return res

    with ThreadPoolExecutor(max_workers=len(models), thread_name_prefix="forge-fanout") as pool:
        return list(pool.map(one, models))
