"""Provider registry: name -> provider, with lazy imports so one missing SDK breaks one provider only.

Built-ins: openai, anthropic, offline. Every ``[endpoints.NAME]`` of the catalog
becomes an OpenAI-compatible provider called NAME.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import replace

from forge.config import redact, redact_logs, redact_url
from forge.llm.base import Provider, ProviderStatus, ProviderUnavailable, UnknownModelError
from forge.llm.catalog import Catalog, Endpoint, load_catalog, split_model

# name -> "module:Class" (imported on first use) or a factory.
_FACTORIES: dict[str, str | Callable[[], Provider]] = {
    "openai": "forge.llm.openai:OpenAIProvider",
    "anthropic": "forge.llm.anthropic:AnthropicProvider",
    "offline": "forge.llm.offline:OfflineProvider",
}
_SDK_HINT = {"openai": "openai", "anthropic": "anthropic"}
_instances: dict[str, Provider] = {}
_endpoint_instances: dict[Endpoint, Provider] = {}
_lock = threading.Lock()
# OPENAI_BASE_URL or an endpoint may carry credentials, and the SDKs log request URLs.
redact_logs()


def register(name: str, factory: str | Callable[[], Provider]) -> None:
    """Add a provider: ``"package.module:Class"`` or a zero-argument callable."""
    with _lock:
        _FACTORIES[name] = factory
        _instances.pop(name, None)


def _build(name: str) -> Provider:
    factory = _FACTORIES[name]
    if isinstance(factory, str):
        module_name, _, cls_name = factory.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            pkg = _SDK_HINT.get(name, exc.name or module_name)
            raise ProviderUnavailable(
                f"The {name} provider needs the '{pkg}' package: pip install {pkg} ({exc})"
            ) from None
        factory = getattr(module, cls_name)
    return factory()


def _one_instance(cache: dict, key, build: Callable[[], Provider]) -> Provider:
    """The provider cached under ``key``, built outside the lock (an SDK import can take seconds)."""
    with _lock:
        inst = cache.get(key)
    if inst is None:
        inst = build()
        with _lock:
            inst = cache.setdefault(key, inst)
    return inst


def get_provider(name: str, catalog: Catalog | None = None) -> Provider:
    """The provider called ``name``; UnknownModelError when there is none."""
    if name in _FACTORIES:
        return _one_instance(_instances, name, lambda: _build(name))
    catalog = catalog or load_catalog()
    endpoint = catalog.endpoints.get(name)
    if endpoint is None:
        known = ", ".join(catalog.providers())
        raise UnknownModelError(
            f"Unknown provider '{name}' - use one of {known}, or declare [endpoints.{name}]"
            f" with its base_url in the model catalog ({catalog.path})"
        )
    from forge.llm.compatible import CompatibleProvider

    return _one_instance(_endpoint_instances, endpoint, lambda: CompatibleProvider(endpoint))


def known_provider(name: str, catalog: Catalog | None = None) -> bool:
    """Whether ``name`` is a registered provider or an endpoint of the catalog (nothing is imported)."""
    return name in _FACTORIES or name in (catalog or load_catalog()).endpoints


def provider_names(catalog: Catalog | None = None) -> list[str]:
    """Every provider a model name may start with."""
    return list(_FACTORIES) + sorted((catalog or load_catalog()).endpoints)


def resolve(full_name: str, catalog: Catalog | None = None) -> tuple[Provider, str]:
    """``"provider/model"`` -> (provider, model id). Raises UnknownModelError / ProviderUnavailable."""
    provider_name, model_id = split_model(full_name)
    return get_provider(provider_name, catalog), model_id


def provider_statuses(catalog: Catalog | None = None) -> list[ProviderStatus]:
    """Configured or not, for each provider (never the key, nor credentials in a base URL), with how to configure."""
    catalog = catalog or load_catalog()
    out = []
    for name in list(_FACTORIES) + sorted(catalog.endpoints):
        try:
            st = get_provider(name, catalog).status()
        except ProviderUnavailable as exc:
            st = ProviderStatus(name, name, False, None, None, None, str(exc))
        # OPENAI_BASE_URL or an endpoint's base_url may carry user:password or ?api_key=.
        out.append(replace(st, base_url=redact_url(st.base_url), how_to=redact(st.how_to) or ""))
    return out
