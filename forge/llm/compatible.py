"""Any OpenAI-compatible endpoint (vLLM, Ollama, LM Studio, ...) declared in the catalog."""

from __future__ import annotations

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

    def status(self) -> ProviderStatus:
        st = super().status()
        if self.key_env and st.source == "not needed":
            how = f"Optional: set {self.key_env} if {self.endpoint.base_url} needs a key."
            return ProviderStatus(st.name, st.label, True, "no key set", st.key_env, st.base_url, how)
        return st
