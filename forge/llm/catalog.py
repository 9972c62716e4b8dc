"""The model catalog: display names, context windows and prices, from an editable TOML file.

Also declares user-defined OpenAI-compatible endpoints (``[endpoints.NAME]``).
The path is ``forge.config.settings().catalog_path`` (FORGE_CATALOG overrides).
"""

from __future__ import annotations

import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from forge.config import settings

BUILTIN_PROVIDERS = ("openai", "anthropic", "offline")


@dataclass(frozen=True)
class ModelInfo:
    """One catalog entry; prices in USD per million tokens (None when unknown)."""

    provider: str
    model_id: str
    name: str
    context_window: int | None = None
    input_per_mtok: float | None = None
    output_per_mtok: float | None = None

    @property
    def full_name(self) -> str:
        return f"{self.provider}/{self.model_id}"

    @property
    def price_known(self) -> bool:
        return self.input_per_mtok is not None and self.output_per_mtok is not None

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        """USD for these token counts, or None when the price or a count is unknown."""
        if not self.price_known or input_tokens is None or output_tokens is None:
            return None
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6


@dataclass(frozen=True)
class Endpoint:
    """A user-defined OpenAI-compatible server (vLLM, Ollama, LM Studio, ...)."""

    name: str
    base_url: str
    api_key_env: str | None = None
    label: str | None = None


@dataclass
class Catalog:
    models: dict[str, ModelInfo] = field(default_factory=dict)  # by full name
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # bad entries, named, skipped
    path: Path | None = None

    def get(self, full_name: str) -> ModelInfo | None:
        return self.models.get(full_name)

    def providers(self) -> list[str]:
        return list(BUILTIN_PROVIDERS) + sorted(self.endpoints)

    def model_names(self) -> list[str]:
        return list(self.models)


def split_model(full_name: str) -> tuple[str, str]:
    """``"openai/gpt-4o"`` -> ``("openai", "gpt-4o")``; the model part may itself contain '/'."""
    provider, sep, model_id = (full_name or "").strip().partition("/")
    if not sep or not provider or not model_id:
        from forge.llm.base import UnknownModelError

        raise UnknownModelError(
            f"Unknown model: {full_name!r} - name models as provider/model, e.g. openai/gpt-4o-mini"
        )
    return provider, model_id


def _num(value, where: str, problems: list[str], kind=float):
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        return kind(value)
    except (TypeError, ValueError):
        problems.append(f"{where}: expected a number, got {value!r}")
        return None


def parse_catalog(data: dict, path: Path | None = None) -> Catalog:
    """A Catalog from parsed TOML; bad entries are skipped and named in ``problems``."""
    cat = Catalog(path=path)
    for name, ep in (data.get("endpoints") or {}).items():
        where = f"[endpoints.{name}]"
        if name in BUILTIN_PROVIDERS:
            cat.problems.append(f"{where}: '{name}' is a built-in provider name; choose another")
            continue
        if not isinstance(ep, dict) or not ep.get("base_url"):
            cat.problems.append(f"{where}: base_url is required")
            continue
        cat.endpoints[name] = Endpoint(
            name, str(ep["base_url"]), ep.get("api_key_env") or None, ep.get("label") or None
        )
    for i, m in enumerate(data.get("models") or [], start=1):
        where = f"models entry {i}"
        if not isinstance(m, dict) or not m.get("provider") or not m.get("id"):
            cat.problems.append(f"{where}: provider and id are required")
            continue
        provider, model_id = str(m["provider"]), str(m["id"])
        where = f"model {provider}/{model_id}"
        if provider not in BUILTIN_PROVIDERS and provider not in cat.endpoints:
            cat.problems.append(
                f"{where}: unknown provider '{provider}' (declare [endpoints.{provider}] with its base_url)"
            )
            continue
        info = ModelInfo(
            provider,
            model_id,
            str(m.get("name") or model_id),
            _num(m.get("context_window"), where + " context_window", cat.problems, int),
            _num(m.get("input_per_mtok"), where + " input_per_mtok", cat.problems),
            _num(m.get("output_per_mtok"), where + " output_per_mtok", cat.problems),
        )
        cat.models[info.full_name] = info
    return cat


_cache: dict[tuple, Catalog] = {}
_lock = threading.Lock()


def load_catalog(path: str | Path | None = None) -> Catalog:
    """The catalog at ``path`` (default from settings), re-read when the file changes."""
    path = Path(path) if path else settings().catalog_path
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return Catalog(problems=[f"{path}: catalog file not found"], path=path)
    key = (str(path), mtime)
    with _lock:
        if key in _cache:
            return _cache[key]
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return Catalog(problems=[f"{path}: {exc}"], path=path)
    cat = parse_catalog(data, path)
    with _lock:
        _cache[key] = cat
    return cat
