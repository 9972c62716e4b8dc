"""Forge's own LLM calls (eval generation, refinement) sent to Langfuse as traces, over its OTLP endpoint.

Enabled when LANGFUSE_HOST (or LANGFUSE_BASE_URL), LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are
set (env or secrets). One Langfuse trace per generation, one ``generation`` observation per call
with model, prompt, answer, token usage and cost, named with the SDK's public attribute names
(``langfuse.LangfuseOtelSpanAttributes``). Each generation builds its own OpenTelemetry tracer
provider and OTLP/HTTP exporter to ``{host}/api/public/otel/v1/traces`` (basic auth with the keys),
flushes and shuts it down at the end: settings are re-read every time (a changed host takes effect at
once) and no SDK-private state is touched. Tracing never fails the work: any problem turns it off.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from forge import config
from forge.llm.base import RunResult
from forge.llm.catalog import split_model

log = logging.getLogger(__name__)


def langfuse_settings() -> tuple[str, str, str] | None:
    """(host, public key, secret key) when all three are set, else None."""
    host = config.get("LANGFUSE_HOST") or config.get("LANGFUSE_BASE_URL")
    public_key, secret_key = config.get("LANGFUSE_PUBLIC_KEY"), config.get("LANGFUSE_SECRET_KEY")
    if not (host and public_key and secret_key):
        return None
    return host.rstrip("/"), public_key, secret_key


def _tracer_provider(settings: tuple[str, str, str]):
    """A tracer provider of our own exporting to this Langfuse (no global provider is installed)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    host, public_key, secret_key = settings
    token = base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()
    exporter = OTLPSpanExporter(
        endpoint=f"{host}/api/public/otel/v1/traces", headers={"Authorization": f"Basic {token}"}, timeout=10
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "forge"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _attrs() -> Any:
    from langfuse import LangfuseOtelSpanAttributes

    return LangfuseOtelSpanAttributes


def _dumps(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)


class _Observation:
    """One OpenTelemetry span carrying Langfuse's observation attributes."""

    def __init__(self, span):
        self.span = span

    def update(self, **fields: Any) -> None:
        a = _attrs()
        names = {
            "input": a.OBSERVATION_INPUT,
            "output": a.OBSERVATION_OUTPUT,
            "metadata": a.OBSERVATION_METADATA,
            "level": a.OBSERVATION_LEVEL,
            "status_message": a.OBSERVATION_STATUS_MESSAGE,
            "model": a.OBSERVATION_MODEL,
            "model_parameters": a.OBSERVATION_MODEL_PARAMETERS,
            "usage_details": a.OBSERVATION_USAGE_DETAILS,
            "cost_details": a.OBSERVATION_COST_DETAILS,
        }
        for key, value in fields.items():
            if value is None:
                continue
            plain = key in ("level", "status_message", "model")
            self.span.set_attribute(names[key], str(value) if plain else _dumps(value))

    def start_observation(self, *, name: str, as_type: str, **fields: Any) -> _Observation:
        from opentelemetry import trace

        child = self.tracer.start_span(name, context=trace.set_span_in_context(self.span))
        obs = _Observation(child)
        obs.tracer = self.tracer
        child.set_attribute(_attrs().OBSERVATION_TYPE, as_type)
        obs.update(**fields)
        return obs

    def end(self) -> None:
        self.span.end()


class _Client:
    """The provider of one generation: flushed and shut down when the generation ends."""

    def __init__(self, provider):
        self.provider = provider

    def start_observation(self, *, name: str, as_type: str, input=None, metadata=None) -> _Observation:
        tracer = self.provider.get_tracer("forge.evals")
        span = tracer.start_span(name)
        a = _attrs()
        span.set_attribute(a.TRACE_NAME, name)
        span.set_attribute(a.OBSERVATION_TYPE, as_type)
        root = _Observation(span)
        root.tracer = tracer
        root.update(input=input, metadata=metadata)
        return root

    def flush(self) -> None:
        self.provider.force_flush(10_000)
        self.provider.shutdown()


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
            client = _Client(_tracer_provider(settings))
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
