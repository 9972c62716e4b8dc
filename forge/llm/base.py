"""The Provider base class, the request/result values and the errors of forge.llm.

A provider is a small class: a name, the setting that holds its key, and one
method, :meth:`Provider.complete`, that sends one request and returns a
:class:`Completion` (or raises one of the errors below). Retries, timeouts,
cost and persistence live in the runner and the store, not in providers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from forge import config

# Called with each piece of streamed text as it arrives.
DeltaCallback = Callable[[str], None]


# ---------------------------------------------------------------- errors


class LLMError(Exception):
    """A model call failed; the message is what the user sees in the result row."""

    kind = "error"


class UnknownModelError(LLMError):
    """The model name names no known provider (or the provider does not know it)."""

    kind = "unknown_model"


class MissingKeyError(LLMError):
    kind = "missing_key"


class AuthenticationFailed(LLMError):
    kind = "bad_key"


class ContextOverflowError(LLMError):
    """The prompt does not fit the model's context window (caught before sending)."""

    kind = "context_overflow"


class RequestTimeout(LLMError):
    kind = "timeout"


class RetryableError(LLMError):
    """A 429 or 5xx: worth another try, after ``retry_after`` seconds if the server said so."""

    kind = "retryable"

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ProviderUnavailable(LLMError):
    """The provider's SDK is not installed."""

    kind = "unavailable"


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Request:
    """One fully rendered request: what is sent, identical for every model of a fan-out."""

    prompt: str
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True


@dataclass
class Completion:
    """What a provider returns for one successful call."""

    output: str
    input_tokens: int | None = None  # from the provider's usage; None when it gave none
    output_tokens: int | None = None
    ttft_ms: float | None = None  # time to first token, when streamed


@dataclass
class RunResult:
    """The outcome of one model in a fan-out. Failure is data: ``error`` says what went wrong."""

    model: str
    output: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    tokens_estimated: bool = False
    latency_ms: float | None = None
    cost_usd: float | None = None
    error: str | None = None
    ttft_ms: float | None = None
    provider: str = ""
    error_kind: str | None = None
    attempts: int = 0
    price_known: bool = False
    extra: dict = field(default_factory=dict)

    JSON_FIELDS = (
        "model",
        "output",
        "input_tokens",
        "output_tokens",
        "tokens_estimated",
        "latency_ms",
        "cost_usd",
        "error",
    )

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict:
        """The `forge run --json` object (DESIGN.md)."""
        d = asdict(self)
        return {k: d[k] for k in self.JSON_FIELDS}


@dataclass(frozen=True)
class ProviderStatus:
    """Whether a provider can be used, for the status panel. Never carries the key itself."""

    name: str
    label: str
    configured: bool
    source: str | None  # "env", "secrets", "not needed", or None
    key_env: str | None
    base_url: str | None
    how_to: str  # what to do when not configured ("" when configured)


# ---------------------------------------------------------------- provider


class Provider:
    """Base of every provider. Subclasses set the class attributes and implement ``complete``."""

    name: str = ""
    label: str = ""
    key_env: str | None = None  # e.g. OPENAI_API_KEY; None when no key is needed
    key_required: bool = True
    base_url_env: str | None = None
    default_base_url: str | None = None

    def __init__(self):
        self._clients: dict[tuple, Any] = {}
        self._clients_lock = threading.Lock()

    def cached_client(self, make: Callable[[str | None, str | None], Any]) -> Any:
        """One SDK client per (base URL, key), made by ``make(key, base_url)``: it keeps its connection pool."""
        key, base_url = self.api_key(), self.base_url()
        with self._clients_lock:
            client = self._clients.get((base_url, key))
            if client is None:
                client = self._clients[(base_url, key)] = make(key, base_url)
        return client

    def api_key(self) -> str | None:
        """The key from env or secrets; MissingKeyError saying how to set it."""
        if not self.key_env:
            return None
        key = config.get(self.key_env)
        if not key and self.key_required:
            raise MissingKeyError(
                f"No key found - set the {self.key_env} environment variable"
                f" (or add {self.key_env} to .streamlit/secrets.toml)"
            )
        return key

    def base_url(self) -> str | None:
        if self.base_url_env:
            url = config.get(self.base_url_env)
            if url:
                return url
        return self.default_base_url

    def complete(self, model_id: str, request: Request, on_delta: DeltaCallback | None, timeout: float) -> Completion:
        """Send ``request`` to ``model_id``; stream text to ``on_delta`` when given."""
        raise NotImplementedError

    def status(self) -> ProviderStatus:
        if not self.key_env:
            return ProviderStatus(self.name, self.label, True, "not needed", None, self.base_url(), "")
        source = None
        if os.environ.get(self.key_env):
            source = "env"
        elif config.get(self.key_env):
            source = "secrets"
        configured = source is not None or not self.key_required
        how_to = (
            ""
            if source
            else (
                f'Set the {self.key_env} environment variable, or add {self.key_env} = "..."'
                " to .streamlit/secrets.toml (read on every call: no restart needed)."
            )
        )
        if not self.key_required and not source:
            source, how_to = "not needed", ""
        return ProviderStatus(self.name, self.label, configured, source, self.key_env, self.base_url(), how_to)
