"""One way to show numbers everywhere: counts with thousands separators, costs, durations."""

from __future__ import annotations

import math

BLANK = "—"  # what a missing value shows as (never "None" or "nan")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_count(value: int | float | None) -> str:
    """4587 -> "4,587"; a float token count like 148.0 -> "148"; None -> "—"."""
    if _missing(value):
        return BLANK
    return f"{round(value):,}"


def fmt_cost(value: float | None) -> str:
    """Dollars readable at any size: $1,234.50, $0.42, $0.0015, $0.00003 (three significant digits)."""
    if _missing(value):
        return BLANK
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    digits = max(2, 2 - math.floor(math.log10(abs(value))))  # keep three significant digits
    whole, _, decimals = f"{value:.{digits}f}".partition(".")
    decimals = decimals.rstrip("0").ljust(2, "0")  # trailing zeros say nothing, but cents keep two
    return f"${whole}.{decimals}"


def fmt_ms(value: float | None) -> str:
    """Milliseconds below 10 s ("850 ms"), seconds above ("12.3 s")."""
    if _missing(value):
        return BLANK
    return f"{value:,.0f} ms" if value < 10_000 else f"{value / 1000:,.1f} s"
