"""Eval sandbox benchmark: a realistic eval (three regexes and a length check over ~2 KB outputs).

Prints, for 10,000 traces: sandboxed calls/s, the ratio sandboxed / in-process (target >= 0.5)
and the wall time (target <= 1 s on a 2-core machine); then the same for 10 evals x 100,000
traces with all cores. The in-process baseline runs the same source with exec in this process:
a measurement only (product code never runs an eval outside the sandbox).

    .venv/bin/python -m bench.evals
"""

from __future__ import annotations

import os
import random
import time

REALISTIC_EVAL = """
import re

REFUSAL = re.compile(r"As an AI language model|I cannot|I'm unable to")
CITATION = re.compile(r"\\[\\d+\\]")
LINK = re.compile(r"https?://")


def evaluate(trace):
    out = trace["output_text"]
    if len(out) < 200:
        return False, "answer too short"
    if REFUSAL.search(out):
        return False, "refusal"
    return bool(CITATION.search(out) or LINK.search(out)), "needs a citation or a link"
"""
RATIO_TARGET = 0.5
WALL_TARGET_S = 1.0
WORDS = "the model answered with care about revenue growth in 2024 and cited sources quickly".split()


def make_traces(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    traces = []
    for i in range(n):
        words = [rng.choice(WORDS) for _ in range(330)]  # ~2 KB of output
        if i % 3 == 0:
            words.append(f"[{i % 9}]")
        if i % 7 == 0:
            words.insert(0, "As an AI language model")
        out = " ".join(words)
        traces.append({"id": f"t{i}", "input_text": "question", "output_text": out, "metadata": {"i": i}})
    return traces


def in_process_rate(source: str, traces: list[dict]) -> float:
    """Calls/s of the same eval run directly (the baseline the sandbox is compared with)."""
    namespace: dict = {}
    exec(compile(source, "<bench>", "exec"), namespace)  # bench-only baseline, never product code
    evaluate = namespace["evaluate"]
    t0 = time.perf_counter()
    for trace in traces:
        evaluate(trace)
    return len(traces) / (time.perf_counter() - t0)


def _best(fn, repeat: int = 3) -> float:
    """The best wall time of ``repeat`` runs (the machine is shared: the best is the least disturbed)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    from forge.evals.sandbox import close_idle_workers, isolation_status, run_evals

    level, missing = isolation_status()
    cores = os.cpu_count() or 1
    print(f"isolation: {level}" + (f" (missing: {'; '.join(missing)})" if missing else "") + f"; cores: {cores}")
    traces = make_traces(10_000)
    baseline = max(in_process_rate(REALISTIC_EVAL, traces) for _ in range(3))

    def sandboxed() -> None:
        out = run_evals({"realistic": REALISTIC_EVAL}, traces)
        assert not any(v.is_error for v in out.verdicts["realistic"])

    close_idle_workers()
    cold = _best(sandboxed, repeat=1)  # includes starting python in bubblewrap
    close_idle_workers()
    time.sleep(0.5)
    wall = _best(sandboxed)  # warm: the pool has started workers in the background
    rate = len(traces) / wall
    ratio = rate / baseline
    print(
        f"10,000 traces x 1 eval: in-process {baseline:,.0f} calls/s; sandboxed {rate:,.0f} calls/s; "
        f"ratio {ratio:.2f} (target >= {RATIO_TARGET}); wall {wall:.2f} s (target <= {WALL_TARGET_S} s); "
        f"cold start (no warm worker): {cold:.2f} s"
    )
    big = make_traces(100_000, seed=11)
    sources = {f"eval{i}": REALISTIC_EVAL.replace("< 200", f"< {200 + i}") for i in range(10)}
    t0 = time.perf_counter()
    out = run_evals(sources, big)
    wall = time.perf_counter() - t0
    calls = 10 * len(big)
    errors = sum(v.is_error for vs in out.verdicts.values() for v in vs)
    print(
        f"100,000 traces x 10 evals ({cores} cores): {calls / wall:,.0f} calls/s; wall {wall:.1f} s; "
        f"ratio {calls / wall / baseline:.2f} of one in-process core; errors {errors}"
    )
    close_idle_workers()


if __name__ == "__main__":
    main()
