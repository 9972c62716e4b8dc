"""The prompts that ask an LLM to write evals, and the parser of its answers.

No network and no database here: :func:`build_meta_prompt` samples rated examples (seeded)
to fit a model's context window, :func:`parse_candidates` reads candidate evals back out of
free text. :mod:`forge.evals.generate` sends these prompts and checks what comes back.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from forge.evals.contract import ALLOWED_IMPORTS, DEFAULT_TIMEOUT_S, ENTRY_POINT, LABEL_KEYS, MAX_SOURCE_BYTES
from forge.llm import tokens
from forge.llm.base import Request

DEFAULT_K = 5
# A model missing from the catalog is assumed to have this window: small enough for most.
DEFAULT_CONTEXT_WINDOW = 32_000
MAX_EXAMPLES = 40  # more examples rarely help and cost every call
INPUT_CHARS = 1_200  # per example, head and tail kept
OUTPUT_CHARS = 2_000
NOTE_CHARS = 400
MAX_OUTPUT_TOKENS = 8_192  # many models refuse a larger max_tokens
TOKENS_PER_CANDIDATE = 1_500

SYSTEM = (
    "You write evaluation functions (evals) in Python for Forge, a tool that checks LLM traces against "
    "a criterion that analysts rated by hand. Each eval is a small, readable, deterministic function. "
    "Answer only in the format you are asked for."
)

TRACE_SHAPE = """\
{"id": str, "name": str|None, "timestamp": ISO-8601 str,
 "input": JSON, "output": JSON,            # as the source had them
 "input_text": str, "output_text": str,    # flattened text, always present
 "steps": [{"id", "parent_id", "type", "name", "input", "output", "model",
            "start_time", "end_time", "level", "status_message",
            "input_tokens", "output_tokens", "cost_usd"}],
 "metadata": dict, "tags": [str], "user_id": str|None, "session_id": str|None,
 "latency_ms": float|None, "cost_usd": float|None,
 "source": "langfuse"|"file"|"playground"|"otel", "source_id": str}"""

ANSWER_FORMAT = """\
### name: short_snake_case_name
Rationale: one sentence on what this eval checks and why it separates passes from fails.
```python
def evaluate(trace: dict) -> bool | tuple[bool, str]:
    ...
```"""


@dataclass(frozen=True)
class RatedExample:
    """One rated trace: a unified trace, the human's ``pass``/``fail`` and the rater's note."""

    trace: Mapping[str, Any]
    rating: str
    note: str | None = None


@dataclass(frozen=True)
class Contradiction:
    """A trace where an eval disagrees with the human: their rating and note, and what the eval said."""

    trace: Mapping[str, Any]
    rating: str
    note: str | None = None
    eval_reason: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One eval read out of a model's answer."""

    name: str
    rationale: str
    source: str


@dataclass(frozen=True)
class MetaPrompt:
    """A rendered prompt and what went into it."""

    system: str
    prompt: str
    max_tokens: int  # output tokens reserved (sent as max_tokens)
    input_tokens: int  # estimated tokens of system + prompt
    examples_used: int = 0
    examples_total: int = 0
    passes_used: int = 0
    fails_used: int = 0

    def request(self, temperature: float | None = None) -> Request:
        return Request(prompt=self.prompt, system=self.system, temperature=temperature, max_tokens=self.max_tokens)


# ---------------------------------------------------------------- text helpers


def shorten(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping its head and tail (where answers often end)."""
    text = text or ""
    if len(text) <= limit:
        return text
    head = int(limit * 0.7)
    tail = max(0, limit - head)
    cut = len(text) - head - tail
    return f"{text[:head]} [... {cut} characters cut ...] {text[len(text) - tail :] if tail else ''}".rstrip()


def _text(trace: Mapping[str, Any], key: str, raw_key: str) -> str:
    value = trace.get(key)
    if isinstance(value, str):
        return value
    raw = trace.get(raw_key)
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)


def _note(note: Any) -> str:
    return note.strip() if isinstance(note, str) else ""


def _other_fields(trace: Mapping[str, Any]) -> str:
    """The non-text fields an eval might use (steps, latency, cost, tags), compactly."""
    info: dict[str, Any] = {}
    for key in ("name", "latency_ms", "cost_usd", "tags"):
        if trace.get(key) not in (None, [], ""):
            info[key] = trace[key]
    steps = trace.get("steps") or []
    if isinstance(steps, list) and steps:
        info["steps"] = [
            {k: s.get(k) for k in ("type", "name", "level", "status_message", "model") if s.get(k) not in (None, "")}
            for s in steps[:6]
            if isinstance(s, Mapping)
        ]
        if len(steps) > 6:
            info["steps_total"] = len(steps)
    metadata = trace.get("metadata")
    if isinstance(metadata, Mapping) and metadata:
        info["metadata_keys"] = sorted(str(k) for k in metadata if str(k).lower() not in LABEL_KEYS)[:15]
    return shorten(json.dumps(info, ensure_ascii=False, default=str), 600) if info else ""


def _render_example(number: int, rating: str, trace: Mapping[str, Any], note: str | None, extra: str = "") -> str:
    lines = [f"## Example {number}: {rating.upper()}{extra}"]
    if _note(note):
        lines.append(f"Rater's note: {shorten(_note(note), NOTE_CHARS)}")
    # Tags, not markdown: the texts themselves may hold headings and code fences.
    lines.append("<input_text>\n" + shorten(_text(trace, "input_text", "input"), INPUT_CHARS) + "\n</input_text>")
    lines.append("<output_text>\n" + shorten(_text(trace, "output_text", "output"), OUTPUT_CHARS) + "\n</output_text>")
    other = _other_fields(trace)
    if other:
        lines.append("Other fields: " + other)
    return "\n".join(lines) + "\n"


def contract_text() -> str:
    """The eval contract as the model must follow it."""
    return (
        f"- Define `def {ENTRY_POINT}(trace: dict) -> bool | tuple[bool, str]`. Return True when the trace meets"
        " the criterion (a human would give it a thumbs up) and False when it does not; you may return"
        " (verdict, reason) with a short reason an analyst will read.\n"
        f"- Import only from: {', '.join(sorted(ALLOWED_IMPORTS))}. Nothing else (no os, sys, subprocess,"
        " requests, random, numpy).\n"
        "- No I/O and no side effects: no files, network, processes, environment variables, print, input,"
        " eval, exec or open.\n"
        f"- Deterministic and fast: each call must finish well within {DEFAULT_TIMEOUT_S:g} s; the source must"
        f" stay under {MAX_SOURCE_BYTES // 1024} KB.\n"
        "- Never raise: any field may be missing, None or of another type; use .get() and isinstance checks.\n"
        "- Self-contained: module-level constants and helper functions are fine."
    )


def _header(criterion: str) -> str:
    return (
        f"# Criterion\n{criterion.strip()}\n\n"
        f"# The trace an eval receives (the unified trace shape)\n{TRACE_SHAPE}\n"
        "`input_text` and `output_text` always hold the flattened text; prefer them.\n\n"
        f"# The eval contract\n{contract_text()}\n"
    )


# ---------------------------------------------------------------- sampling


def output_tokens_for(k: int, context_window: int) -> int:
    """Output tokens to reserve for ``k`` candidates, at most a third of the window."""
    return max(256, min(TOKENS_PER_CANDIDATE * k + 1_000, MAX_OUTPUT_TOKENS, context_window // 3))


def _interleaved(examples: Sequence, seed: int) -> list:
    """Fails and passes shuffled (seeded), alternating, fails with notes first: notes say most."""
    rng = random.Random(seed)
    fails = [e for e in examples if e.rating == "fail"]
    passes = [e for e in examples if e.rating == "pass"]
    rng.shuffle(fails)
    rng.shuffle(passes)
    fails.sort(key=lambda e: not _note(e.note))  # stable: shuffled order kept within each group
    out: list[RatedExample] = []
    for i in range(max(len(fails), len(passes))):
        out.extend(group[i] for group in (fails, passes) if i < len(group))
    return out


def _fit(blocks: list[str], budget: int, limit: int) -> list[int]:
    """Indexes of the blocks that fit ``budget`` tokens, in order, skipping ones too large (at most ``limit``)."""
    chosen, used = [], 0
    for i, block in enumerate(blocks):
        if len(chosen) >= limit or budget - used < 50:
            break
        cost = tokens.count(block) + 1
        if used + cost <= budget:
            chosen.append(i)
            used += cost
    return chosen


def _budget(context_window: int | None, fixed: str, system: str, max_tokens: int) -> int:
    window = context_window or DEFAULT_CONTEXT_WINDOW
    # A margin for the estimate's error (other tokenizers count differently) and chat overhead.
    margin = 200 + window // 20
    return window - max_tokens - margin - tokens.count_prompt(fixed, system)


# ---------------------------------------------------------------- prompts


def build_meta_prompt(
    criterion: str,
    examples: Sequence[RatedExample],
    k: int = DEFAULT_K,
    context_window: int | None = None,
    *,
    seed: int = 0,
    max_examples: int = MAX_EXAMPLES,
) -> MetaPrompt:
    """The prompt asking for ``k`` candidate evals, with as many rated examples as fit the window."""
    k = max(1, int(k))
    window = context_window or DEFAULT_CONTEXT_WINDOW
    max_tokens = output_tokens_for(k, window)
    rated = [e for e in examples if e.rating in ("pass", "fail")]  # neutral ratings teach nothing
    task = (
        f"# Your task\nWrite {k} candidate evals for the criterion, each a different angle on it: different"
        " signals (wording and phrases, structure and length, what the output adds to or copies from the input,"
        " step errors, refusals, formats). Generalise from the examples; never hard-code their ids or exact texts."
        " Keep each eval under about 80 lines and easy to read.\n\n"
        f"Answer with exactly {k} blocks in this format and nothing else:\n\n{ANSWER_FORMAT}\n"
    )
    fixed = _header(criterion) + "\n# Rated examples\n\n" + task
    ordered = _interleaved(rated, seed)
    blocks = [_render_example(i + 1, e.rating, e.trace, e.note) for i, e in enumerate(ordered)]
    chosen = _fit(blocks, _budget(window, fixed, SYSTEM, max_tokens), max_examples)
    used = [ordered[i] for i in chosen]
    # Renumber the chosen ones so the model sees 1..n.
    body = "\n".join(_render_example(n + 1, e.rating, e.trace, e.note) for n, e in enumerate(used))
    n_pass = sum(e.rating == "pass" for e in used)
    summary = (
        f"{len(used)} of {len(rated)} rated traces ({n_pass} pass, {len(used) - n_pass} fail)."
        " A pass meets the criterion; a fail does not, and its note says why."
    )
    prompt = _header(criterion) + f"\n# Rated examples\n{summary}\n\n{body}\n{task}"
    return MetaPrompt(
        system=SYSTEM,
        prompt=prompt,
        max_tokens=max_tokens,
        input_tokens=tokens.count_prompt(prompt, SYSTEM),
        examples_used=len(used),
        examples_total=len(rated),
        passes_used=n_pass,
        fails_used=len(used) - n_pass,
    )


def build_repair_prompt(
    criterion: str, candidate: Candidate, error: str, *, context_window: int | None = None
) -> MetaPrompt:
    """A follow-up asking to fix one candidate, with the error it produced."""
    window = context_window or DEFAULT_CONTEXT_WINDOW
    max_tokens = output_tokens_for(1, window)
    prompt = (
        _header(criterion) + f"\n# An eval that needs fixing\nThis eval was written for the criterion above:\n\n"
        f"### name: {candidate.name}\nRationale: {candidate.rationale}\n```python\n{candidate.source.strip()}\n```\n\n"
        f"It failed its checks with this error:\n\n{shorten(error, 2_000)}\n\n"
        "# Your task\nReturn the corrected eval, keeping its idea, in exactly this format and nothing else:\n\n"
        f"{ANSWER_FORMAT}\n"
    )
    return MetaPrompt(SYSTEM, prompt, max_tokens, tokens.count_prompt(prompt, SYSTEM))


def build_refine_prompt(
    criterion: str,
    source: str,
    contradictions: Sequence[Contradiction],
    *,
    context_window: int | None = None,
    seed: int = 0,
    max_examples: int = MAX_EXAMPLES,
) -> MetaPrompt:
    """The prompt asking for a better version of ``source`` from the traces where it disagrees with humans."""
    window = context_window or DEFAULT_CONTEXT_WINDOW
    max_tokens = output_tokens_for(1, window)
    task = (
        "# Your task\nWrite a new version of this eval that agrees with the humans on these traces and on traces"
        " like them, without breaking what it already gets right. Generalise from the notes; never hard-code ids"
        f" or exact texts. Answer in exactly this format and nothing else:\n\n{ANSWER_FORMAT}\n"
    )
    current = f"\n# The current eval\n```python\n{source.strip()}\n```\n"
    fixed = _header(criterion) + current + "\n# Where it disagrees with the humans\n\n" + task
    rated = [c for c in contradictions if c.rating in ("pass", "fail")]
    ordered = _interleaved(rated, seed)

    def render(n: int, c: Contradiction) -> str:
        said = "fail" if c.rating == "pass" else "pass"
        extra = f" (the eval said {said}" + (f": {shorten(c.eval_reason, 200)}" if c.eval_reason else "") + ")"
        return _render_example(n, c.rating, c.trace, c.note, extra)

    blocks = [render(i + 1, c) for i, c in enumerate(ordered)]
    chosen = _fit(blocks, _budget(window, fixed, SYSTEM, max_tokens), max_examples)
    used = [ordered[i] for i in chosen]
    body = "\n".join(render(n + 1, c) for n, c in enumerate(used))
    prompt = (
        _header(criterion)
        + current
        + f"\n# Where it disagrees with the humans\n{len(used)} of {len(rated)} contradictions; each heading"
        f" gives the human rating.\n\n{body}\n{task}"
    )
    n_pass = sum(c.rating == "pass" for c in used)
    return MetaPrompt(
        SYSTEM,
        prompt,
        max_tokens,
        tokens.count_prompt(prompt, SYSTEM),
        len(used),
        len(rated),
        n_pass,
        len(used) - n_pass,
    )


# ---------------------------------------------------------------- parsing

_FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+-]*)[ \t]*$", re.MULTILINE)
_NAME = re.compile(
    r"^[ \t]*#{1,6}[ \t]*(?:name[ \t]*:|(?:candidate|eval)\b[^:\n]*:)?[ \t]*(.+?)[ \t]*$", re.MULTILINE | re.IGNORECASE
)
_NAME_LINE = re.compile(r"^[ \t]*\**name\**[ \t]*:[ \t]*(.+?)[ \t]*$", re.MULTILINE | re.IGNORECASE)
_RATIONALE = re.compile(
    r"^[ \t]*\**(?:rationale|why|angle)\**[ \t]*:\**[ \t]*(.+?)[ \t]*$", re.MULTILINE | re.IGNORECASE
)
_DEFINES_ENTRY = re.compile(rf"^def[ \t]+{ENTRY_POINT}[ \t]*\(", re.MULTILINE)
_CODE_LANGS = {"", "python", "py", "python3"}


def _identifier(raw: str) -> str:
    """A heading like "1. Refusal detector (`refusal_check`)" as a snake_case name."""
    ticked = re.search(r"`([^`]+)`", raw)
    text = ticked.group(1) if ticked else raw
    text = re.sub(r"^\W*\d+[.):]?\s*", "", text)  # a leading number
    name = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return name[:60].strip("_")


def _blocks(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, language, code) of each fenced block; an unterminated last block runs to the end."""
    out = []
    pos = 0
    while True:
        open_ = _FENCE.search(text, pos)
        if not open_:
            break
        lang = open_.group(1).lower()
        close = _FENCE.search(text, open_.end())
        if close is None:  # cut off (max_tokens): the block runs to the end
            out.append((open_.start(), len(text), lang, text[open_.end() :].strip("\n")))
            break
        if close.group(1):  # "```python" again: the previous block was never closed; it ends here
            out.append((open_.start(), close.start(), lang, text[open_.end() : close.start()].strip("\n")))
            pos = close.start()
            continue
        out.append((open_.start(), close.end(), lang, text[open_.end() : close.start()].strip("\n")))
        pos = close.end()
    return out


def parse_candidates(text: str) -> list[Candidate]:
    """Every eval in a model's answer: fenced Python defining ``evaluate``, named by the heading before it.

    Prose between blocks is ignored; a missing name becomes ``candidate_N``; a repeated name gets ``_2``, ``_3``.
    An answer with no fences but a ``def evaluate`` is read as one candidate.
    """
    text = text or ""
    found: list[tuple[str, str, str]] = []
    prev_end = 0
    for start, end, lang, code in _blocks(text):
        preamble = text[prev_end:start]
        prev_end = end
        if lang not in _CODE_LANGS or not _DEFINES_ENTRY.search(code):
            continue
        name_match = None
        for pattern in (_NAME_LINE, _NAME):
            matches = list(pattern.finditer(preamble))
            if matches:
                name_match = matches[-1]
                break
        rationale = _RATIONALE.findall(preamble)
        if not rationale:
            # The last prose line before the code, when it is not the name heading itself.
            lines = [ln.strip() for ln in preamble.splitlines() if ln.strip() and not ln.strip().startswith("#")]
            lines = [ln for ln in lines if not _NAME_LINE.match(ln)]
            rationale = lines[-1:] if lines else []
        found.append((_identifier(name_match.group(1)) if name_match else "", (rationale or [""])[-1], code))
    if not found and _DEFINES_ENTRY.search(text):
        found.append(("", "", text.strip()))
    out: list[Candidate] = []
    taken: set[str] = set()
    for i, (base, rationale, code) in enumerate(found, start=1):
        base = base or f"candidate_{i}"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        out.append(Candidate(name=name, rationale=rationale.strip().strip("*").strip(), source=code.rstrip() + "\n"))
    return out
