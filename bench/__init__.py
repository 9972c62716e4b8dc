"""Benchmarks: each module has main() and prints its figures and ratios."""

import statistics
import time
from collections.abc import Callable
from typing import Any


def time_ms(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """``fn`` once to warm up, then ``runs`` times: (median ms, p95 ms, the last result)."""
    fn()
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, result
