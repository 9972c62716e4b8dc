"""OpenAI chat completions, through the official SDK (imported only when this provider is used)."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import openai as openai_sdk

from forge.config import add_secret, is_secret_param
from forge.llm.base import (
    Completion,
    DeltaCallback,
    LLMError,
    Provider,
    Request,
    RequestTimeout,
)
from forge.llm.retry import classify_sdk_error


@dataclass(frozen=True)
class EndpointURL:
    """A base URL split into the plain URL, its query parameters and its user:password."""

    url: str | None
    query: dict[str, str] = field(default_factory=dict)
    basic_auth: str | None = None  # the Authorization header value, when the URL had a user


def split_url(base_url: str) -> EndpointURL:
    """``http://u:p@host/v1?api_key=k`` -> (``http://host/v1``, {api_key: k}, ``Basic dTpw``)."""
    parts = urlsplit(base_url)
    netloc, basic = parts.netloc, None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        raw = f"{unquote(user)}:{unquote(password)}".encode()
        basic = "Basic " + base64.b64encode(raw).decode("ascii")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if basic:
        # The password is the secret; a user name alone is one too (a token passed as the user).
        add_secret(unquote(password) if password else unquote(user))
    for name, value in query.items():
        if is_secret_param(name):
            add_secret(value)
    return EndpointURL(urlunsplit((parts.scheme, netloc, parts.path, "", "")), query, basic)


class OpenAIProvider(Provider):
    name = "openai"
    label = "OpenAI"
    key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"
    # The official API wants max_completion_tokens (reasoning models refuse max_tokens);
    # most OpenAI-compatible servers only know max_tokens.
    max_tokens_param = "max_completion_tokens"

    def client(self, timeout: float) -> openai_sdk.OpenAI:
        # Retries are the runner's job (it honours Retry-After and logs attempts).
        def make(key: str | None, base_url: str | None) -> openai_sdk.OpenAI:
            # Credentials in the base URL go as a header and query parameters, so no URL the
            # SDK logs or puts in an error carries them.
            split = split_url(base_url) if base_url else EndpointURL(None)
            headers = {"Authorization": split.basic_auth} if split.basic_auth else None
            return openai_sdk.OpenAI(
                api_key=key or "not-needed",
                base_url=split.url,
                default_query=split.query or None,
                default_headers=headers,
                max_retries=0,
                timeout=timeout,
            )

        return self.cached_client(make)

    def _kwargs(self, model_id: str, request: Request) -> dict:
        messages = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        kwargs: dict = {"model": model_id, "messages": messages}
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.max_tokens:
            kwargs[self.max_tokens_param] = request.max_tokens
        return kwargs

    def complete(self, model_id: str, request: Request, on_delta: DeltaCallback | None, timeout: float) -> Completion:
        client = self.client(timeout)
        kwargs = self._kwargs(model_id, request)
        try:
            if request.stream:
                return self._stream(client, model_id, kwargs, on_delta, timeout)
            resp = client.chat.completions.create(**kwargs, timeout=timeout)
        except openai_sdk.APIError as exc:
            raise self._error(exc, model_id, timeout) from None
        text = (resp.choices[0].message.content or "") if resp.choices else ""
        usage = resp.usage
        return Completion(
            output=text,
            input_tokens=getattr(usage, "prompt_tokens", None),
            output_tokens=getattr(usage, "completion_tokens", None),
        )

    def _stream(self, client, model_id, kwargs, on_delta, timeout) -> Completion:
        t0 = time.perf_counter()
        deadline = t0 + timeout
        parts: list[str] = []
        ttft = None
        usage = None
        stream = client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}, timeout=timeout
        )
        with stream:
            for chunk in stream:
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices or []:
                    piece = getattr(choice.delta, "content", None) if choice.delta else None
                    if piece:
                        if ttft is None:
                            ttft = (time.perf_counter() - t0) * 1000
                        parts.append(piece)
                        if on_delta:
                            on_delta(piece)
                if time.perf_counter() > deadline:
                    raise RequestTimeout(f"Timed out after {timeout:g} s (stream still running)")
        return Completion(
            output="".join(parts),
            input_tokens=getattr(usage, "prompt_tokens", None),
            output_tokens=getattr(usage, "completion_tokens", None),
            ttft_ms=ttft,
        )

    def _error(self, exc: Exception, model_id: str, timeout: float) -> LLMError:
        """The SDK's exception as a Forge error whose message a user can act on."""
        return classify_sdk_error(self, exc, model_id, timeout, openai_sdk)
