"""Features of a trace that synthesised evals test, written once.

Every function here is plain Python that only uses the eval contract's allowed imports and calls
no other module-level name except other functions of this module. Synthesis computes features by
calling these functions, and writes the very same functions (their source text, via ``inspect``)
into each generated eval, so a generated eval measures exactly what the search measured.
A feature returns a number, or None when the trace lacks the field (a rule then has no evidence and
passes). The functions carry no annotations on purpose: their text is copied into evals, which run
with restricted builtins (they use only ValueError, abs, dict, float, int, isinstance, len, max, set,
sorted, str, sum, zip).
"""

from __future__ import annotations

import inspect
import json
import math
import re
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------- text of a trace


def side_text(trace, side):
    """The flattened input or output text of a trace ('' when absent)."""
    value = trace.get(side + "_text")
    if value is None:
        value = trace.get(side)
        if value is not None and not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False)
    return value if isinstance(value, str) else ""


def words(text):
    """Lower-case words of a text (letters, digits and apostrophes)."""
    return re.findall(r"[a-z0-9']+", text.lower())


def numbers(text):
    """The numbers written in a text, normalised ('1,000' -> '1000', '3.50' -> '3.5')."""
    found = set()
    for raw in re.findall(r"\d[\d,]*(?:\.\d+)?", text):
        value = raw.replace(",", "").rstrip(".")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        found.add(value)
    return found


def named_entities(text):
    """Capitalised words not opening a sentence: a cheap stand-in for names of people, places, things."""
    found = set()
    for match in re.finditer(r"(?<![.!?:\n]\s)(?<!^)\b([A-Z][a-zA-Z]{2,})\b", text):
        found.add(match.group(1))
    return found


# ---------------------------------------------------------------- length and structure


def word_count(trace, side):
    """Words in the input or output."""
    return len(words(side_text(trace, side)))


def line_count(trace, side):
    """Non-empty lines."""
    return sum(1 for line in side_text(trace, side).splitlines() if line.strip())


def bullet_count(trace, side):
    """Bulleted or numbered list items."""
    return len(re.findall(r"(?m)^\s*(?:[-*\u2022]|\d+[.)])\s+\S", side_text(trace, side)))


def header_count(trace, side):
    """Markdown headers."""
    return len(re.findall(r"(?m)^\s{0,3}#{1,6}\s+\S", side_text(trace, side)))


def code_block_count(trace, side):
    """Fenced code blocks."""
    return side_text(trace, side).count("```") // 2


def table_row_count(trace, side):
    """Markdown table rows."""
    return len(re.findall(r"(?m)^\s*\|.*\|\s*$", side_text(trace, side)))


def json_valid(trace, side):
    """1 when the whole text is a JSON object or array, else 0."""
    text = side_text(trace, side).strip()
    if text[:1] not in ("{", "["):
        return 0
    try:
        json.loads(text)
    except ValueError:
        return 0
    return 1


# ---------------------------------------------------------------- patterns


def link_count(trace, side):
    """Links (http(s):// or www.)."""
    return len(re.findall(r"(?i)\bhttps?://\S+|\bwww\.\S+", side_text(trace, side)))


def email_count(trace, side):
    """E-mail addresses."""
    return len(re.findall(r"[\w.+-]+@[\w-]+\.[\w.-]+", side_text(trace, side)))


def phone_count(trace, side):
    """Phone numbers."""
    return len(re.findall(r"(?<!\w)\+?\(?\d{2,4}\)?[ .-]\d{3,4}[ .-]\d{3,4}(?!\w)", side_text(trace, side)))


def refusal_count(trace, side):
    """Refusals and AI disclaimers ('I'm sorry', 'I cannot', 'as an AI language model')."""
    pattern = (
        r"(?i)\b(?:i'?m sorry|i am sorry|i apologi[sz]e|i can(?:not|'t)|i am unable|i'm unable|unable to"
        r"|as an ai|ai language model|i don't have access|i do not have access|not able to)\b"
    )
    return len(re.findall(pattern, side_text(trace, side)))


def refusal_density(trace, side):
    """Refusals per 100 words: a short refusal weighs more than one disclaimer in a long answer."""
    return 100 * refusal_count(trace, side) / max(1, word_count(trace, side))


def placeholder_count(trace, side):
    """Unfilled placeholders: [name], {name}, <name>, TODO, XXX, lorem ipsum."""
    pattern = (
        r"\[[A-Za-z][\w ]{0,30}\]|\{[A-Za-z_][\w ]{0,30}\}|<[A-Z][A-Z_ ]{1,30}>|\bTODO\b|\bXXX+\b|(?i:lorem ipsum)"
    )
    return len(re.findall(pattern, side_text(trace, side)))


def hedge_count(trace, side):
    """Hedging words ('may', 'might', 'approximately', 'it depends', 'I think')."""
    pattern = r"(?i)\b(?:may|might|could|possibly|perhaps|approximately|roughly|around|likely|it depends|i think)\b"
    return len(re.findall(pattern, side_text(trace, side)))


def number_count(trace, side):
    """Distinct numbers."""
    return len(numbers(side_text(trace, side)))


def year_count(trace, side):
    """Years (1500-2099) mentioned."""
    return len(re.findall(r"\b(?:1[5-9]\d\d|20\d\d)\b", side_text(trace, side)))


def question_mark_count(trace, side):
    """Question marks."""
    return side_text(trace, side).count("?")


# ---------------------------------------------------------------- input vs output


def new_number_count(trace):
    """Numbers in the output that the input does not contain."""
    return len(numbers(side_text(trace, "output")) - numbers(side_text(trace, "input")))


def new_entity_count(trace):
    """Named entities in the output that the input does not mention."""
    return len(named_entities(side_text(trace, "output")) - set(re.findall(r"\w+", side_text(trace, "input"))))


def copied_word_share(trace):
    """Share of the output's distinct words that appear in the input (None without output words)."""
    out = set(words(side_text(trace, "output")))
    if not out:
        return None
    return len(out & set(words(side_text(trace, "input")))) / len(out)


def output_input_ratio(trace):
    """Output words per input word."""
    return word_count(trace, "output") / max(1, word_count(trace, "input"))


# ---------------------------------------------------------------- steps, latency, cost


def step_count_at_level(trace, level):
    """Steps whose level is the given one (ERROR, WARNING)."""
    steps = trace.get("steps") or []
    return sum(1 for step in steps if isinstance(step, dict) and str(step.get("level") or "").upper() == level)


def latency_ms(trace):
    """The trace's latency in milliseconds (None when unknown)."""
    value = trace.get("latency_ms")
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def cost_usd(trace):
    """The trace's cost in US dollars (None when unknown)."""
    value = trace.get("cost_usd")
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


# ---------------------------------------------------------------- words and phrases


def phrase_count(trace, side, phrase):
    """How often a lower-case word or phrase occurs in the input or output (whole words)."""
    return len(re.findall(r"(?<![a-z0-9'])" + re.escape(phrase) + r"(?![a-z0-9'])", side_text(trace, side).lower()))


def tokens(trace):
    """Words and word pairs of input ('i:') and output ('o:'), as a set: the learned scorer's vocabulary."""
    found = set()
    for side, prefix in (("input", "i:"), ("output", "o:")):
        seen = words(side_text(trace, side))
        found.update(prefix + w for w in seen)
        found.update(prefix + a + " " + b for a, b in zip(seen, seen[1:], strict=False))
        # the shape of numbers ('o:#4' for a 4-digit number), so "a year" is one token whatever the year
        found.update(prefix + "#" + str(len(w)) for w in seen if w.isdigit())
    return found


# ---------------------------------------------------------------- the catalogue


@dataclass(frozen=True, slots=True)
class Feature:
    """One measurable property: a function of this module applied to the trace and literal arguments."""

    name: str
    function: Callable[..., Any]
    args: tuple = ()
    description: str = ""

    def value(self, trace: dict) -> float | None:
        """The feature's value on a trace, exactly as a generated eval computes it."""
        return self.function(trace, *self.args)

    def call_source(self) -> str:
        """The Python expression a generated eval uses to compute it."""
        return f"{self.function.__name__}(trace{''.join(', ' + repr(a) for a in self.args)})"


def _side_features() -> list[Feature]:
    per_side = [
        (word_count, "words"),
        (line_count, "lines"),
        (bullet_count, "list items"),
        (header_count, "markdown headers"),
        (code_block_count, "code blocks"),
        (table_row_count, "table rows"),
        (json_valid, "valid JSON"),
        (link_count, "links"),
        (email_count, "e-mail addresses"),
        (phone_count, "phone numbers"),
        (refusal_count, "refusals or AI disclaimers"),
        (refusal_density, "refusals per 100 words"),
        (placeholder_count, "unfilled placeholders"),
        (hedge_count, "hedging words"),
        (number_count, "distinct numbers"),
        (year_count, "years"),
        (question_mark_count, "question marks"),
    ]
    out = [Feature(f"output_{fn.__name__}", fn, ("output",), f"{label} in the output") for fn, label in per_side]
    out += [
        Feature(f"input_{fn.__name__}", fn, ("input",), f"{label} in the input")
        for fn, label in per_side
        if fn in (word_count, link_count, number_count, question_mark_count, code_block_count)
    ]
    return out


BASE_FEATURES: list[Feature] = [
    *_side_features(),
    Feature("new_number_count", new_number_count, (), "numbers in the output not in the input"),
    Feature("new_entity_count", new_entity_count, (), "named entities in the output not in the input"),
    Feature("copied_word_share", copied_word_share, (), "share of output words copied from the input"),
    Feature("output_input_ratio", output_input_ratio, (), "output words per input word"),
    Feature("error_steps", step_count_at_level, ("ERROR",), "steps at level ERROR"),
    Feature("warning_steps", step_count_at_level, ("WARNING",), "steps at level WARNING"),
    Feature("latency_ms", latency_ms, (), "latency in ms"),
    Feature("cost_usd", cost_usd, (), "cost in USD"),
]


def phrase_feature(side: str, phrase: str) -> Feature:
    """A feature counting one word or phrase in the input or output."""
    return Feature(f"{side}_has:{phrase}", phrase_count, (side, phrase), f"'{phrase}' in the {side}")


# ---------------------------------------------------------------- source text for generated evals

_ALLOWED_MODULES = {"json", "math", "re"}


def _referenced(function: types.FunctionType) -> set[str]:
    names = set(function.__code__.co_names)
    for const in function.__code__.co_consts:  # comprehensions and generators are nested code objects
        if isinstance(const, types.CodeType):
            names |= set(const.co_names)
    return names


def source_of(functions: list[Callable[..., Any]]) -> tuple[list[str], str]:
    """(modules to import, the source of these functions and every function of this module they call)."""
    module_functions = {
        name: fn for name, fn in globals().items() if isinstance(fn, types.FunctionType) and fn.__module__ == __name__
    }
    needed: dict[str, Callable[..., Any]] = {}
    stack = list(functions)
    modules: set[str] = set()
    while stack:
        fn = stack.pop()
        if fn.__name__ in needed:
            continue
        needed[fn.__name__] = fn
        for name in _referenced(fn):
            if name in module_functions:
                stack.append(module_functions[name])
            elif name in _ALLOWED_MODULES:
                modules.add(name)
    # keep this module's order, so the generated file reads like this one
    ordered = [fn for name, fn in module_functions.items() if name in needed]
    return sorted(modules), "\n\n".join(inspect.getsource(fn).rstrip() for fn in ordered)
