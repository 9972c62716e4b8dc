"""Forge's own LLM calls (eval generation, refinement) sent to Langfuse as traces, through its SDK.

Enabled when LANGFUSE_HOST (or LANGFUSE_BASE_URL), LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are
set (env or secrets). One Langfuse trace per generation, one ``generation`` observation per call
with model, prompt, answer, token usage and cost. The SDK exports over OTLP/HTTP to
``{host}/api/public/otel/v1/traces``. Tracing never fails the work: any problem turns it off.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from forge import config
from forge.llm.base import RunResult
from forge.llm.catalog import split_model

log = logging.getLogger(__name__)

_lock = threading.Lock()
_client: tuple[tuple[str, str, str], Any] | None = None  # ((host, public key, secret key), Langfuse)


def langfuse_settings() -> tuple[str, str, str] | None:
    """(host, public key, secret key) when all three are set, else None."""
    host = config.get("LANGFUSE_HOST") or config.get("LANGFUSE_BASE_URL")
    public_key, secret_key = config.get("LANGFUSE_PUBLIC_KEY"), config.get("LANGFUSE_SECRET_KEY")
    if not (host and public_key and secret_key):
        return None
    return host.rstrip("/"), public_key, secret_key


def _langfuse_client(settings: tuple[str, str, str]):
    """One SDK client per (host, keys); a changed setting replaces it (settings are re-read on every call)."""
    global _client
    with _lock:
        if _client is not None and _client[0] == settings:
            return _client[1]
        from langfuse import Langfuse
        from opentelemetry.sdk.trace import TracerProvider

        if _client is not None:
            _drop(_client)
        host, public_key, secret_key = settings
        # Our own tracer provider: Forge's spans go to this client only, and no global provider is installed.
        client = Langfuse(public_key=public_key, secret_key=secret_key, base_url=host, tracer_provider=TracerProvider())
        _client = (settings, client)
        return client


def _drop(entry) -> None:
    """Shut an old client down and forget the SDK's per-public-key singleton, so a new host takes effect."""
    (_, public_key, _), client = entry
    try:
        client.shutdown()
        from langfuse._client.resource_manager import LangfuseResourceManager

        with LangfuseResourceManager._lock:
            LangfuseResourceManager._instances.pop(public_key, None)
    except Exception:  # an SDK internals change only means the old host keeps its client
        log.debug("could not reset the old Langfuse client", exc_info=True)


class GenerationTracer:
    """One Langfuse trace for one generation; a no-op when Langfuse is not configured."""

    def __init__(self, root=None, client=None):
        self._root = root
        self._client = client

    @property
    def enabled(self) -> bool:
        return self._root is not None

    @classmethod
    def for_settings(cls, name: str, trace_input: dict) -> GenerationTracer:
        settings = langfuse_settings()
        if settings is None:
            return cls()
        try:
            client = _langfuse_client(settings)
            root = client.start_observation(name=name, as_type="span", input=trace_input, metadata={"app": "forge"})
            return cls(root, client)
        except Exception as exc:
            log.warning("Langfuse tracing is off for this run: %s", config.redact(str(exc)))
            return cls()

    def start(self, purpose: str, model: str, prompt) -> Any:
        """A generation observation for one call, started now (so Langfuse shows its duration)."""
        if self._root is None:
            return None
        try:
            provider, model_id = split_model(model)
        except Exception:
            provider, model_id = "", model
        try:
            return self._root.start_observation(
                name=purpose,
                as_type="generation",
                model=model_id,
                input=[{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.prompt}],
                model_parameters={"max_tokens": prompt.max_tokens},
                metadata={"provider": provider, "model": model},
            )
        except Exception:
            log.debug("Langfuse: could not start a generation", exc_info=True)
            return None

    def end(self, handle, result: RunResult) -> None:
        if handle is None:
            return
        try:
            update: dict[str, Any] = {"output": result.output}
            if result.ok:
                n_in, n_out = result.input_tokens or 0, result.output_tokens or 0
                update["usage_details"] = {"input": n_in, "output": n_out, "total": n_in + n_out}
                if result.cost_usd is not None:
                    update["cost_details"] = {"total": result.cost_usd}
                update["metadata"] = {"tokens_estimated": result.tokens_estimated, "attempts": result.attempts}
            else:
                update.update(level="ERROR", status_message=config.redact(result.error))
            handle.update(**update)
            handle.end()
        except Exception:
            log.debug("Langfuse: could not end a generation", exc_info=True)

    def finish(self, output: dict) -> None:
        """End the trace and send everything now (generation is rare; losing it at exit would be worse)."""
        if self._root is None:
            return
        try:
            self._root.update(output=output)
            self._root.end()
            self._client.flush()
        except Exception:
            log.debug("Langfuse: could not flush", exc_info=True)
