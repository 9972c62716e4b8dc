"""Prompt templates with ``{{variable}}`` placeholders, context blocks, and the rendered request.

Context blocks (typed text or uploaded files) go where the template says
``{{context}}``, or before the prompt when it does not say.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from forge.llm.base import Request

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
CONTEXT_VAR = "context"
MAX_CONTEXT_FILE_BYTES = 5_000_000


class PromptError(ValueError):
    """The prompt cannot be rendered (a variable has no value, a context file is unreadable)."""


@dataclass(frozen=True)
class ContextBlock:
    name: str
    text: str


@dataclass
class PromptSpec:
    """Everything the user set for one run: template, values, context and parameters."""

    template: str
    variables: dict[str, str] = field(default_factory=dict)
    context: list[ContextBlock] = field(default_factory=list)
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True

    def params(self) -> dict:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, "stream": self.stream}

    def context_dicts(self) -> list[dict]:
        return [asdict(c) for c in self.context]

    def render(self) -> Request:
        return Request(
            prompt=render_prompt(self.template, self.variables, self.context),
            system=(self.system or None) and render_template(self.system, self.variables),
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            stream=self.stream,
        )


def variables_in(template: str) -> list[str]:
    """Placeholder names in order of first appearance (``context`` excluded: it is filled from blocks)."""
    seen: list[str] = []
    for name in _PLACEHOLDER.findall(template or ""):
        if name != CONTEXT_VAR and name not in seen:
            seen.append(name)
    return seen


def render_template(template: str, values: dict[str, str]) -> str:
    """Fill every ``{{name}}``; PromptError naming each one without a value."""
    missing = [n for n in variables_in(template) if n not in values]
    if missing:
        raise PromptError(
            "No value for " + ", ".join("{{" + n + "}}" for n in missing) + " - give each variable a value"
        )
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


def format_context(blocks: list[ContextBlock]) -> str:
    return "\n\n".join(f'<context name="{b.name}">\n{b.text.strip()}\n</context>' for b in blocks if b.text)


def render_prompt(template: str, values: dict[str, str], blocks: list[ContextBlock]) -> str:
    if not (template or "").strip():
        raise PromptError("The prompt is empty - write a prompt first")
    context = format_context(blocks)
    values = {**values, CONTEXT_VAR: context}
    text = render_template(template, values)
    if context and not re.search(r"\{\{\s*context\s*\}\}", template):
        text = context + "\n\n" + text
    return text


def parse_vars(pairs: list[str]) -> dict[str, str]:
    """``["k=v", ...]`` -> dict; PromptError for an item without '='."""
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise PromptError(f"--var {pair!r}: expected NAME=VALUE")
        out[name.strip()] = value
    return out


def context_from_file(path: str | Path) -> ContextBlock:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PromptError(f"context file {str(path)!r} not found") from None
    except OSError as exc:
        raise PromptError(f"context file {str(path)!r} cannot be read: {exc.strerror}") from None
    return context_from_bytes(path.name, data)


def context_from_bytes(name: str, data: bytes) -> ContextBlock:
    """A context block from an uploaded or read file (text only)."""
    if len(data) > MAX_CONTEXT_FILE_BYTES:
        raise PromptError(f"context file {name!r} is larger than {MAX_CONTEXT_FILE_BYTES // 1_000_000} MB")
    if b"\x00" in data[:4096]:
        raise PromptError(f"context file {name!r} is not a text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return ContextBlock(name, text)
