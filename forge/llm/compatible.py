"""Any OpenAI-compatible endpoint (vLLM, Ollama, LM Studio, ...) declared in the catalog.

A base URL may carry credentials (``http://user:pw@host/v1``, ``…/v1?api_key=…``). They are
taken out of the URL the SDK sees and sent as an Authorization header and query parameters
instead, so every URL the SDK logs or puts in an error is clean; everything Forge shows or
stores uses :func:`forge.config.redact_url`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import openai as openai_sdk

from forge.config import add_secret, redact_url
from forge.llm.base import ProviderStatus
from forge.llm.catalog import Endpoint
from forge.llm.openai import OpenAIProvider


@dataclass(frozen=True)
class EndpointURL:
    """A base URL split into the plain URL, its query parameters and its user:password."""

    url: str
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
        if redact_url(f"x://h/?{name}=v") != f"x://h/?{name}=v":  # a credential-like parameter
            add_secret(value)
    return EndpointURL(urlunsplit((parts.scheme, netloc, parts.path, "", "")), query, basic)


class CompatibleProvider(OpenAIProvider):
    """Speaks OpenAI chat completions to ``endpoint.base_url``; a key only if the endpoint names one."""

    max_tokens_param = "max_tokens"
    key_required = False  # local servers usually take none; a rejected call says so

    def __init__(self, endpoint: Endpoint):
        super().__init__()
        self.endpoint = endpoint
        self.name = endpoint.name
        self.label = endpoint.label or f"{endpoint.name} (OpenAI-compatible)"
        self.key_env = endpoint.api_key_env
        self.base_url_env = None
        self.default_base_url = endpoint.base_url

    def client(self, timeout: float) -> openai_sdk.OpenAI:
        def make(key: str | None, base_url: str | None) -> openai_sdk.OpenAI:
            split = split_url(base_url or "")
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

    def shown_url(self) -> str:
        """The base URL as it may be shown or stored: credentials masked."""
        return redact_url(self.endpoint.base_url) or ""

    def status(self) -> ProviderStatus:
        st = super().status()
        st = ProviderStatus(st.name, st.label, st.configured, st.source, st.key_env, self.shown_url(), st.how_to)
        if self.key_env and st.source == "not needed":
            how = f"Optional: set {self.key_env} if {self.shown_url()} needs a key."
            return ProviderStatus(st.name, st.label, True, "no key set", st.key_env, st.base_url, how)
        return st
