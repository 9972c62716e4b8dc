"""The unified trace of DESIGN.md: normalise any importer's dict into it.

``normalize_trace`` accepts parsed JSON or JSON-encoded strings for input,
output and metadata, ignores unknown keys, tolerates missing optional ones and
raises ``TraceFieldError`` naming the field when a value has the wrong type.
"""

from __future__ import annotations

import ast
import hashlib
import json
from typing import Any

from forge.store.types import SOURCES, Step, Trace
from forge.store.values import INT64, TraceFieldError, iso, iso_time, parse_time
from forge.store.values import to_number as _number

__all__ = ["SOURCES", "Step", "Trace", "TraceFieldError", "iso", "iso_time", "parse_time"]

try:  # optional speed-up; results are the same as with the standard library
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is in requirements.txt
    _orjson = None

# Keys whose value is usually the useful text of a dict-shaped input/output.
_TEXT_KEYS = (
    "content",
    "text",
    "output",
    "answer",
    "final_answer",
    "response",
    "completion",
    "result",
    "reply",
    "summary",
    "comment",
    "query",
    "question",
    "input",
    "prompt",
    "message",
    "contents",
)


# ---------------------------------------------------------------- values

# orjson turns integers beyond 64 bits into floats where json keeps them exact: text
# with a run of 19+ digits goes to json (as does anything orjson refuses: NaN/Infinity,
# 1e400, lone surrogates, non-UTF-8 bytes), so results never differ. The digit-run
# check is a translate + substring search: a regex scan costs more than the parse.
_DIGITS_AS_ZERO = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
_LONG_RUN = b"0" * 19


def loads(text: str | bytes) -> Any:
    """``json.loads`` (same results, same ValueError on bad input), through orjson when it is safe."""
    if _orjson is not None:
        try:
            data = text.encode() if isinstance(text, str) else text
        except UnicodeEncodeError:  # lone surrogates: json's business
            data = None
        if data is not None and _LONG_RUN not in data.translate(_DIGITS_AS_ZERO):
            try:
                return _orjson.loads(data)
            except ValueError:
                pass
    return json.loads(text)


def maybe_json(value: Any) -> Any:
    """Parse a JSON-encoded object/array/string; anything else is returned unchanged."""
    if isinstance(value, str):
        s = value.strip()
        if s[:1] in ("{", "[", '"'):
            try:
                return loads(s)
            except ValueError:
                return value
    return value


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI/Anthropic/Gemini content parts
        parts = []
        for part in content:
            if isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    parts.append(part["text"])
                elif part.get("type") in ("tool_use", "tool_call", "function_call") or "arguments" in part:
                    parts.append(_json_text(part))
                elif isinstance(part.get("content"), (str, list)):
                    parts.append(_content_text(part["content"]))
                elif "response" in part:  # a tool_call_response part
                    parts.append(to_text(part["response"]))
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(p for p in parts if p)
    if isinstance(content, dict) and _as_message(content) is not None:  # Gemini: {"parts", "role"}
        return _message_body(_as_message(content))
    return to_text(content)


# LangChain message classes and `type`s -> chat roles.
_LC_ROLES = {
    "HumanMessage": "user",
    "AIMessage": "assistant",
    "SystemMessage": "system",
    "ToolMessage": "tool",
    "AIMessageChunk": "assistant",
    "FunctionMessage": "tool",
    "ChatMessage": "assistant",
    "human": "user",
    "ai": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "tool",
}
_ANSWER_ROLES = ("assistant", "ai", "model", "bot")


def _as_message(item: Any) -> dict | None:
    """A chat message as {"role", "content"...}, from the shapes frameworks log; None if not one."""
    if not isinstance(item, dict):
        return None
    if item.get("lc") == 1 and isinstance(item.get("kwargs"), dict) and isinstance(item.get("id"), list):
        kw = item["kwargs"]  # a LangChain serialised message
        role = _LC_ROLES.get(str(item["id"][-1]), kw.get("role") or "assistant")
        return {"role": role, "content": kw.get("content"), "tool_calls": kw.get("tool_calls")}
    if "role" in item and any(k in item for k in ("content", "tool_calls", "parts", "text")):
        return item
    if item.get("type") in _LC_ROLES and "content" in item and "additional_kwargs" in item:
        return {
            "role": _LC_ROLES[item["type"]],
            "content": item["content"],
            "tool_calls": (item.get("additional_kwargs") or {}).get("tool_calls") or item.get("tool_calls"),
        }
    return None


def _message_body(m: dict) -> str:
    content = m.get("content") if m.get("content") is not None else m.get("parts", m.get("text"))
    text = _content_text(content)
    if not text and m.get("tool_calls"):
        text = _json_text(m["tool_calls"])
    return text


def _messages_text(messages: list, answer: bool = False) -> str:
    """'role: content' lines; for an output, the last assistant message alone when there is one."""
    parsed = [_as_message(m) for m in messages]
    if answer:
        for m in reversed(parsed):
            if m is not None and str(m.get("role")).lower() in _ANSWER_ROLES:
                body = _message_body(m)
                if body.strip():
                    return body
    lines = []
    for raw, m in zip(messages, parsed, strict=True):
        lines.append(f"{m.get('role')}: {_message_body(m)}" if m is not None else to_text(raw))
    return "\n".join(lines)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _python_literal(s: str) -> Any:
    """A dict/list written as a Python repr (some SDKs log str(obj)); the string itself otherwise."""
    if len(s) > 1_000_000 or s[:2] not in ("{'", "[{"):
        return s
    try:
        return ast.literal_eval(s)  # literals only: never runs code
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return s


def to_text(value: Any, answer: bool = False) -> str:
    """Flatten an input/output value to readable text.

    Chat messages become 'role: content' lines; with ``answer`` (an output) the last
    assistant message is the text. Understands OpenAI chat and Responses, Anthropic,
    Gemini and LangChain shapes; anything else falls back to a common text key or JSON.
    """
    value = maybe_json(value)
    if isinstance(value, str):
        value = _python_literal(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        if not value:
            return ""
        if any(_as_message(m) is not None for m in value):
            return _messages_text(value, answer)
        if all(isinstance(v, str) for v in value):
            return "\n".join(value)
        return _json_text(value)
    if isinstance(value, dict):
        msg = _as_message(value)
        if msg is not None:
            return _message_body(msg) or _json_text(value)
        for key in ("messages", "contents"):  # chat requests (OpenAI, Gemini)
            if isinstance(value.get(key), list) and value[key]:
                if any(_as_message(m) is not None for m in value[key]):
                    return _messages_text(value[key], answer)
        for key in ("new_message", "message", "input", "prompt"):  # a wrapped single message
            inner = _as_message(value.get(key))
            if inner is not None and _message_body(inner).strip():
                return _message_body(inner)
        for key in ("choices", "candidates"):  # a chat completion / a Gemini response
            first = value.get(key)[0] if isinstance(value.get(key), list) and value.get(key) else None
            if isinstance(first, dict):
                inner = first.get("message") or first.get("content")
                if isinstance(inner, dict):
                    text = _message_body(_as_message(inner) or {"content": inner.get("content")})
                    if text:
                        return text
        if isinstance(value.get("output"), list) and value["output"]:  # OpenAI Responses
            text = to_text(value["output"], answer)
            if text:
                return text
        if isinstance(value.get("content"), (dict, list)):  # {"content": {"parts": ..., "role": ...}}
            text = _content_text(value["content"])
            if text:
                return text
        if len(value) == 1:
            (only,) = value.values()
            if isinstance(only, (str, list, dict)):
                return to_text(only, answer)
        for key in _TEXT_KEYS:
            if isinstance(value.get(key), str) and value[key].strip():
                return value[key]
        return _json_text(value)
    return str(value)


def _opt_str(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise TraceFieldError(field, f"expected a string, got {type(value).__name__}")


def _str_list(value: Any, field: str) -> list[str]:
    value = maybe_json(value)
    if value is None:
        return []
    if isinstance(value, str):  # CSV cells: "a, b" or "a;b"
        sep = ";" if ";" in value else ","
        return [v.strip() for v in value.split(sep) if v.strip()]
    if not isinstance(value, list):
        raise TraceFieldError(field, f"expected a list of strings, got {type(value).__name__}")
    out = []
    for i, v in enumerate(value):
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise TraceFieldError(f"{field}[{i}]", f"expected a string, got {type(v).__name__}")
        out.append(str(v))
    return out


def _dict(value: Any, field: str) -> dict:
    value = maybe_json(value)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise TraceFieldError(field, f"expected an object, got {type(value).__name__}")
    return value


def content_id(obj: Any) -> str:
    """A stable id for a row that has none, so re-importing the same row updates it."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return "sha1:" + hashlib.sha1(blob.encode("utf-8", "replace")).hexdigest()


# ---------------------------------------------------------------- steps and traces


def _usage(raw: dict) -> dict | None:
    """input_tokens/output_tokens/cost_usd from a step's usage object in the shapes SDKs log
    (``usage``/``usageDetails`` with input/output, prompt_tokens/completion_tokens or
    input_tokens/output_tokens; ``costDetails.total``); None when the step has none."""
    found = {}
    for key in ("usageDetails", "usage", "usage_details", "token_usage"):
        u = maybe_json(raw.get(key))
        if isinstance(u, dict):
            for name, names in (
                ("input_tokens", ("input", "prompt_tokens", "input_tokens", "promptTokens")),
                ("output_tokens", ("output", "completion_tokens", "output_tokens", "completionTokens")),
            ):
                if found.get(name) is None:
                    found[name] = next((u[n] for n in names if u.get(n) is not None), None)
    if raw.get("cost_usd") is None:
        cost = maybe_json(raw.get("costDetails") or raw.get("cost_details"))
        if isinstance(cost, dict) and cost.get("total") is not None:
            found["cost_usd"] = cost["total"]
        elif raw.get("totalCost") is not None:
            found["cost_usd"] = raw["totalCost"]
    return {k: v for k, v in found.items() if v is not None} or None


def normalize_step(raw: Any, index: int) -> Step:
    field = f"steps[{index}]"
    if not isinstance(raw, dict):
        raise TraceFieldError(field, f"expected an object, got {type(raw).__name__}")
    get = raw.get
    # Checks in the order of the general helpers (the first bad field is the one named);
    # plain strings/None/ints take a shortcut with the same result.
    start = iso_time(get("start_time"), f"{field}.start_time")
    end = iso_time(get("end_time"), f"{field}.end_time")
    v = get("id")
    sid = (v if type(v) is str else _opt_str(v, f"{field}.id")) or str(index)
    v = get("parent_id")
    parent = v if v is None or type(v) is str else _opt_str(v, f"{field}.parent_id")
    v = get("type")
    kind = ((v if type(v) is str else _opt_str(v, f"{field}.type")) or "SPAN").upper()
    v = get("name")
    name = v if v is None or type(v) is str else _opt_str(v, f"{field}.name")
    inp = maybe_json(get("input"))
    out = maybe_json(get("output"))
    v = get("model")
    model = v if v is None or type(v) is str else _opt_str(v, f"{field}.model")
    v = get("level")
    level = v if v is None or type(v) is str else _opt_str(v, f"{field}.level")
    v = get("status_message")
    status = v if v is None or type(v) is str else _opt_str(v, f"{field}.status_message")
    v = get("input_tokens")
    if v is None and get("output_tokens") is None:
        usage = _usage(raw)
        if usage:
            raw = {**raw, **usage}
            get = raw.get
            v = get("input_tokens")
    in_tok = (
        v
        if v is None or (type(v) is int and -INT64 <= v <= INT64)
        else _number(v, f"{field}.input_tokens", integer=True)
    )
    v = get("output_tokens")
    out_tok = (
        v
        if v is None or (type(v) is int and -INT64 <= v <= INT64)
        else _number(v, f"{field}.output_tokens", integer=True)
    )
    v = get("cost_usd")
    cost = None if v is None else _number(v, f"{field}.cost_usd")
    return {
        "id": sid,
        "parent_id": parent,
        "type": kind,
        "name": name,
        "input": inp,
        "output": out,
        "model": model,
        "start_time": start,
        "end_time": end,
        "level": level,
        "status_message": status,
        "input_tokens": in_tok,
        "output_tokens": out_tok,
        "cost_usd": cost,
    }


def _root_step(steps: list[dict]) -> dict | None:
    ids = {s["id"] for s in steps}
    roots = [s for s in steps if not s.get("parent_id") or s["parent_id"] not in ids]
    if roots:
        return roots[0]
    return steps[0] if steps else None  # parent ids in a cycle: the first step stands in for the root


def normalize_trace(raw: Any, source: str = "file", require_output: bool = False) -> Trace:
    """The unified trace for ``raw``; TraceFieldError names the offending field.

    ``require_output``: a trace without an ``output`` key (and no steps to take it
    from) is refused; an explicit null or "" is accepted as an empty output.
    """
    if not isinstance(raw, dict):
        raise TraceFieldError("row", f"expected a JSON object, got {type(raw).__name__}")
    raw_steps = maybe_json(raw.get("steps"))
    if raw_steps in (None, ""):
        raw_steps = []
    if not isinstance(raw_steps, list):
        raise TraceFieldError("steps", f"expected a list, got {type(raw_steps).__name__}")
    steps = [normalize_step(s, i) for i, s in enumerate(raw_steps)]
    return trace_from_steps(raw, steps, source, require_output)


def trace_from_steps(raw: dict, steps: list[Step], source: str = "file", require_output: bool = False) -> Trace:
    """The rest of ``normalize_trace`` once ``steps`` are ``normalize_step`` of ``raw["steps"]``
    (lets an importer normalise steps early, e.g. while it downloads the next page)."""
    if require_output and "output" not in raw and "output_text" not in raw and not steps:
        raise TraceFieldError("output", 'missing (every trace needs an output; use "" for an empty one)')

    inp = maybe_json(raw.get("input"))
    out = maybe_json(raw.get("output"))
    root = _root_step(steps)
    if inp is None and root is not None:
        inp = root.get("input")
    if out is None and root is not None:
        out = root.get("output")
        if out is None:
            gens = [s for s in steps if s["type"] == "GENERATION" and s.get("output") is not None]
            out = gens[-1]["output"] if gens else None

    input_text = raw.get("input_text")
    output_text = raw.get("output_text")
    if input_text is not None and not isinstance(input_text, str):
        raise TraceFieldError("input_text", f"expected a string, got {type(input_text).__name__}")
    if output_text is not None and not isinstance(output_text, str):
        raise TraceFieldError("output_text", f"expected a string, got {type(output_text).__name__}")
    if inp is None and input_text:
        inp = input_text
    if out is None and output_text:
        out = output_text

    ts = parse_time(raw.get("timestamp"), "timestamp")
    if ts is None:
        starts = [s["start_time"] for s in steps if s["start_time"]]
        ts = parse_time(min(starts), "timestamp") if starts else None

    src = raw.get("source") if raw.get("source") in SOURCES else source
    source_id = _opt_str(raw.get("source_id"), "source_id") or _opt_str(raw.get("id"), "id")
    if not source_id:
        body = {k: raw.get(k) for k in ("name", "timestamp", "input", "output", "steps", "metadata")}
        source_id = content_id(body)

    cost = _number(raw.get("cost_usd"), "cost_usd")
    if cost is None:
        costs = [s["cost_usd"] for s in steps if s["cost_usd"] is not None]
        cost = sum(costs) if costs else None
    latency = _number(raw.get("latency_ms"), "latency_ms")
    if latency is None and steps:
        starts = [s["start_time"] for s in steps if s["start_time"]]
        ends = [s["end_time"] for s in steps if s["end_time"]]
        if starts and ends:
            latency = max(
                0.0, (parse_time(max(ends), "end_time") - parse_time(min(starts), "start_time")).total_seconds() * 1000
            )

    return {
        "id": _opt_str(raw.get("id"), "id") or source_id,
        "name": _opt_str(raw.get("name"), "name"),
        "timestamp": iso(ts),
        "input": inp,
        "output": out,
        "input_text": input_text if input_text is not None else to_text(inp),
        "output_text": output_text if output_text is not None else to_text(out, answer=True),
        "steps": steps,
        "metadata": _dict(raw.get("metadata"), "metadata"),
        "tags": _str_list(raw.get("tags"), "tags"),
        "user_id": _opt_str(raw.get("user_id"), "user_id"),
        "session_id": _opt_str(raw.get("session_id"), "session_id"),
        "latency_ms": latency,
        "cost_usd": cost,
        "source": src,
        "source_id": source_id,
    }
