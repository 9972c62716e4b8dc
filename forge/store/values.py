"""Values every layer reads the same way: one time parser, one number coercer, their error.

``TraceFieldError`` names the offending field (``timestamp``, ``steps[2].cost_usd``) so an
importer can report it per row.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


class TraceFieldError(ValueError):
    """A value of the wrong type or shape; ``field`` names it (``tags``, ``steps[2].model``)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


# The common wire form, already UTC: "2024-05-01T12:00:00.123Z" (fraction optional).
_UTC_Z = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3}(?:[0-9]{3})?)?Z")
# The canonical form ``iso`` writes; such a string is its own canonical form once it is a valid date.
_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_fromiso = datetime.fromisoformat


_EPOCH_STR = re.compile(r"[0-9]{9,19}(?:\.[0-9]+)?")


def _epoch(value: float, field: str) -> datetime:
    """Epoch seconds, milliseconds, microseconds or nanoseconds (told apart by size) -> aware UTC."""
    try:
        size = abs(value)
        scaled = value / 1e9 if size > 1e17 else value / 1e6 if size > 1e14 else value / 1e3 if size > 1e11 else value
        return datetime.fromtimestamp(scaled, UTC)
    except (OverflowError, OSError, ValueError):
        raise TraceFieldError(field, f"not a valid epoch time: {str(value)[:40]}") from None


def _other_time(value: str) -> datetime | None:
    """'2024-05-01 12:00:00 UTC' or an RFC 2822 date ('Wed, 01 May 2024 12:00:00 GMT'); None otherwise."""
    s = value.strip()
    if s[-4:].upper() in (" UTC", " GMT"):
        try:
            return datetime.fromisoformat(s[:-4].strip().replace(" ", "T", 1) + "+00:00")
        except ValueError:
            pass
    try:
        from email.utils import parsedate_to_datetime

        return parsedate_to_datetime(s)
    except (TypeError, ValueError, IndexError):
        return None


def parse_time(value: Any, field: str) -> datetime | None:
    """ISO-8601 (any zone) or epoch seconds/ms -> naive UTC datetime."""
    if type(value) is str and _UTC_Z.fullmatch(value):  # fast path, same result as below
        try:
            return _fromiso(value[:-1])
        except ValueError:
            raise TraceFieldError(field, f"not an ISO-8601 time: {value[:40]!r}") from None
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        dt = _epoch(value, field)
    elif isinstance(value, str) and _EPOCH_STR.fullmatch(value.strip()):  # CSV cells: "1714564800"
        dt = _epoch(float(value), field)
    elif isinstance(value, str):
        s = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        if " " in s and "T" not in s:
            s = s.replace(" ", "T", 1)
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            dt = _other_time(value)
            if dt is None:
                raise TraceFieldError(field, f"not an ISO-8601 time: {value[:40]!r}") from None
    else:
        raise TraceFieldError(field, f"expected an ISO-8601 time, got {type(value).__name__}")
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat(timespec="milliseconds") + "Z" if dt else None


def iso_time(value: Any, field: str) -> str | None:
    """``iso(parse_time(value, field))`` without the round trip when ``value`` is already canonical."""
    if type(value) is str and len(value) == 24 and _CANONICAL.fullmatch(value):
        try:
            _fromiso(value[:-1])  # still refuse "2024-13-45T…"
        except ValueError:
            raise TraceFieldError(field, f"not an ISO-8601 time: {value[:40]!r}") from None
        return value
    return iso(parse_time(value, field))


INT64 = 2**63 - 1


def to_number(value: Any, field: str, integer: bool = False) -> int | float | None:
    """A number from a number or numeric text; None for None, "" and NaN/inf; TraceFieldError otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TraceFieldError(field, "expected a number, got a boolean")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise TraceFieldError(field, f"expected a number, got {value[:30]!r}") from None
    if not isinstance(value, (int, float)):
        raise TraceFieldError(field, f"expected a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if integer:
        if not -INT64 <= value <= INT64:  # the token columns are 64-bit
            raise TraceFieldError(field, f"number too large: {str(value)[:40]}")
        return int(value)
    try:
        return float(value)
    except OverflowError:
        raise TraceFieldError(field, f"number too large: {str(value)[:40]}") from None


def is_number(value: Any) -> bool:
    """True for an int or float that is not a bool (no text conversion)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds an HTTP response asks to wait: ``retry-after-ms``, or ``Retry-After`` in seconds or as a date."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None
