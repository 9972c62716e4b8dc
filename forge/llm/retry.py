"""Retry policy for 429 and 5xx: exponential backoff that honours Retry-After (capped).

Settings (env or secrets): FORGE_LLM_TIMEOUT (s per request, default 60),
FORGE_LLM_MAX_RETRIES (default 3), FORGE_LLM_RETRY_CAP (longest wait, default 20 s),
FORGE_LLM_BACKOFF (first backoff, default 1 s).
"""
from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

from forge import config


@dataclass(frozen=True)
class RetryPolicy:
    timeout: float = 60.0
    max_retries: int = 3
    cap: float = 20.0
    backoff: float = 1.0

    @classmethod
    def from_settings(cls, **overrides) -> "RetryPolicy":
        values = {
            "timeout": float(config.get("FORGE_LLM_TIMEOUT") or cls.timeout),
            "max_retries": int(config.get("FORGE_LLM_MAX_RETRIES") or cls.max_retries),
            "cap": float(config.get("FORGE_LLM_RETRY_CAP") or cls.cap),
            "backoff": float(config.get("FORGE_LLM_BACKOFF") or cls.backoff),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.cap)
        jitter = 0.75 + random.random() * 0.5
        return min(self.backoff * (2 ** (attempt - 1)) * jitter, self.cap)


def retry_after_seconds(exc: Exception) -> float | None:
    """Retry-After (seconds or HTTP date) or retry-after-ms from an SDK error's response."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
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
