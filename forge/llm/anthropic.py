"""Anthropic messages, through the official SDK (imported only when this provider is used)."""

from __future__ import annotations

import time

import anthropic as anthropic_sdk

from forge.llm.base import (
    Completion,
    DeltaCallback,
    LLMError,
    Provider,
    Request,
    RequestTimeout,
)
from forge.llm.retry import classify_sdk_error

# The messages API requires max_tokens; this is used when the user sets none.
DEFAULT_MAX_TOKENS = 1024


class AnthropicProvider(Provider):
    name = "anthropic"
    label = "Anthropic"
    key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"

    def client(self, timeout: float) -> anthropic_sdk.Anthropic:
        # Retries are the runner's job (it honours Retry-After).
        return self.cached_client(
            lambda key, base_url: anthropic_sdk.Anthropic(
                api_key=key, base_url=base_url, max_retries=0, timeout=timeout
            )
        )

    def complete(self, model_id: str, request: Request, on_delta: DeltaCallback | None, timeout: float) -> Completion:
        client = self.client(timeout)
        kwargs: dict = {
            "model": model_id,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": [{"role": "user", "content": request.prompt}],
        }
        if request.system:
            kwargs["system"] = request.system
        if request.temperature is not None:
            # This SDK version has no temperature argument; the wire field is passed through as is.
            kwargs["extra_body"] = {"temperature": request.temperature}
        try:
            if request.stream:
                return self._stream(client, kwargs, on_delta, timeout)
            msg = client.messages.create(**kwargs, timeout=timeout)
        except anthropic_sdk.APIError as exc:
            raise self._error(exc, model_id, timeout) from None
        text = "".join(getattr(b, "text", "") for b in msg.content if getattr(b, "type", "") == "text")
        return Completion(
            output=text,
            input_tokens=getattr(msg.usage, "input_tokens", None),
            output_tokens=getattr(msg.usage, "output_tokens", None),
        )

    def _stream(self, client, kwargs, on_delta, timeout) -> Completion:
        t0 = time.perf_counter()
        deadline = t0 + timeout
        parts: list[str] = []
        ttft = input_tokens = output_tokens = None
        stream = client.messages.create(**kwargs, stream=True, timeout=timeout)
        with stream:
            for event in stream:
                kind = getattr(event, "type", "")
                if kind == "message_start":
                    usage = getattr(event.message, "usage", None)
                    input_tokens = getattr(usage, "input_tokens", None)
                    output_tokens = getattr(usage, "output_tokens", None) or output_tokens
                elif kind == "content_block_delta" and getattr(event.delta, "type", "") == "text_delta":
                    piece = event.delta.text
                    if piece:
                        if ttft is None:
                            ttft = (time.perf_counter() - t0) * 1000
                        parts.append(piece)
                        if on_delta:
                            on_delta(piece)
                elif kind == "message_delta":
                    usage = getattr(event, "usage", None)
                    if getattr(usage, "output_tokens", None) is not None:
                        output_tokens = usage.output_tokens
                    if getattr(usage, "input_tokens", None):
                        input_tokens = usage.input_tokens
                elif kind == "error":
                    raise LLMError(f"Anthropic stream error: {getattr(event, 'error', event)}")
                if time.perf_counter() > deadline:
                    raise RequestTimeout(f"Timed out after {timeout:g} s (stream still running)")
        return Completion("".join(parts), input_tokens, output_tokens, ttft)

    def _error(self, exc: Exception, model_id: str, timeout: float) -> LLMError:
        """The SDK's exception as a Forge error whose message a user can act on."""
        return classify_sdk_error(self, exc, model_id, timeout, anthropic_sdk)
