"""Retry policy for 429 and 5xx: exponential backoff that honours Retry-After (capped).

Settings (env or secrets): FORGE_LLM_TIMEOUT (s per request, default 60),
FORGE_LLM_MAX_RETRIES (default 3), FORGE_LLM_RETRY_CAP (longest wait, default 20 s),
FORGE_LLM_BACKOFF (first backoff, default 1 s).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from forge import config
from forge.store import values


@dataclass(frozen=True)
class RetryPolicy:
    timeout: float = 60.0
    max_retries: int = 3
    cap: float = 20.0
    backoff: float = 1.0

    @classmethod
    def from_settings(cls, **overrides) -> RetryPolicy:
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
    return values.retry_after(getattr(getattr(exc, "response", None), "headers", None))


def error_detail(exc: Exception) -> str:
    """The provider's own message from an SDK exception (JSON body ``error.message`` when present)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(getattr(exc, "message", None) or exc)


def _is_context_overflow(detail: str) -> bool:
    """A 400 that says the prompt is too long (OpenAI: "maximum context length", Anthropic: "prompt is too long")."""
    d = detail.lower()
    return "too long" in d or ("context" in d and ("length" in d or "window" in d))


def classify_sdk_error(provider, exc: Exception, model_id: str, timeout: float, sdk):
    """An SDK exception (openai or anthropic: same class names) as a Forge error a user can act on."""
    from forge.llm.base import (
        AuthenticationFailed,
        ContextOverflowError,
        LLMError,
        RequestTimeout,
        RetryableError,
        UnknownModelError,
    )

    where = f"{provider.label} ({provider.base_url() or 'default endpoint'})"
    if isinstance(exc, sdk.APITimeoutError):
        return RequestTimeout(f"Timed out after {timeout:g} s waiting for {where}")
    if isinstance(exc, sdk.APIConnectionError):
        return LLMError(f"Could not connect to {where}: {exc}")
    status = getattr(exc, "status_code", None)
    detail = error_detail(exc)
    if status == 401:
        return AuthenticationFailed(
            f"{provider.label} rejected the key (401): check {provider.key_env or 'the key'}. {detail}".strip()
        )
    if status == 404:
        return UnknownModelError(f"Unknown model: {provider.name}/{model_id} ({where} says: {detail})")
    if status == 429 or (status is not None and status >= 500):
        label = "Rate limited (429)" if status == 429 else f"Server error ({status})"
        return RetryableError(f"{label} from {where}: {detail}", status, retry_after_seconds(exc))
    if status == 400 and _is_context_overflow(detail):
        return ContextOverflowError(f"The prompt is too long for {provider.name}/{model_id}: {detail}")
    return LLMError(f"{where} refused the request ({status}): {detail}")
