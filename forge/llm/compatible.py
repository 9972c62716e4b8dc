"""Any OpenAI-compatible endpoint (vLLM, Ollama, LM Studio, ...) declared in the catalog.

A base URL may carry credentials (``http://user:pw@host/v1``, ``…/v1?api_key=…``). They are
taken out of the URL the SDK sees and sent as an Authorization header and query parameters
instead, so every URL the SDK logs or puts in an error is clean; everything Forge shows or
stores uses :func:`forge.config.redact_url`.
"""

from __future__ import annotations

from forge.config import redact_url
from forge.llm.base import ProviderStatus
from forge.llm.catalog import Endpoint
from forge.llm.openai import OpenAIProvider


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
