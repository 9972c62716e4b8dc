"""OpenTelemetry spans (OTLP, protobuf or JSON) -> the unified trace; pure (no database, no HTTP).

``decode_request`` reads an ``ExportTraceServiceRequest`` into plain ``OtelSpan`` values (a bad
span is reported, not fatal); ``group_spans`` maps them to one ``TraceParts`` per trace id; and
``build_trace``/``merge_trace`` make the unified trace, merging a later batch of the same trace
into what is stored (the SDKs export spans as they end, so one trace may take several requests).

Attributes understood: Langfuse's own (``langfuse.observation.*``, ``langfuse.trace.*``,
``user.id``/``session.id``, as the langfuse SDK v3-v5 writes them), the OpenTelemetry GenAI
semantic conventions (``gen_ai.request.model``, ``gen_ai.usage.*``, ``gen_ai.prompt.N.content``,
``gen_ai.input.messages``, ``gen_ai.operation.name`` ...), and OpenInference's
``input.value``/``llm.model_name``/``llm.token_count.*``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from forge.store.values import TraceFieldError, is_number
from forge.traces.model import Trace, maybe_json, normalize_step, trace_from_steps

SOURCE = "otel"
# How many span problems one response spells out (the count covers them all).
MAX_REPORTED = 5

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_ZERO = re.compile(r"^0+$")

# Langfuse observation types (langfuse.observation.type) are kept as they are, upper-cased.
_OPERATION_TYPES = {  # gen_ai.operation.name -> step type
    "chat": "GENERATION",
    "text_completion": "GENERATION",
    "generate_content": "GENERATION",
    "completion": "GENERATION",
    "embeddings": "EMBEDDING",
    "execute_tool": "TOOL",
    "invoke_agent": "AGENT",
    "create_agent": "AGENT",
}
_OPENINFERENCE_TYPES = {  # openinference.span.kind -> step type
    "LLM": "GENERATION",
    "TOOL": "TOOL",
    "CHAIN": "CHAIN",
    "RETRIEVER": "RETRIEVER",
    "EMBEDDING": "EMBEDDING",
    "AGENT": "AGENT",
    "RERANKER": "SPAN",
    "GUARDRAIL": "GUARDRAIL",
    "EVALUATOR": "EVALUATOR",
}
_STATUS_ERROR = 2  # STATUS_CODE_ERROR
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


class OtlpBodyError(ValueError):
    """The body is not an OTLP trace export at all (nothing in it can be kept)."""


@dataclass
class OtelSpan:
    """One span in plain Python values (ids as lower-case hex, times in Unix nanoseconds)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int | None
    end_ns: int | None
    attributes: dict[str, Any]
    events: list[dict] = field(default_factory=list)
    status_code: int = 0
    status_message: str | None = None
    resource: dict[str, Any] = field(default_factory=dict)
    scope: str | None = None


@dataclass
class TraceParts:
    """What one batch says about one trace: its steps and the trace-level values it sets explicitly."""

    trace_id: str
    steps: list[dict]
    explicit: dict[str, Any]  # name/input/output/user_id/session_id when a span sets them
    tags: list[str]
    metadata: dict[str, Any]


@dataclass
class Decoded:
    """A decoded request: the good spans, and one message per rejected span."""

    spans: list[OtelSpan]
    rejected: list[str]


# ---------------------------------------------------------------- decoding


def _hex_id(value: Any, size: int, what: str) -> str:
    """A trace id (16 bytes) or span id (8 bytes) as hex; OTLP JSON writes hex, protobuf-JSON base64."""
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, str) and len(value) == size * 2 and _HEX.match(value):
        raw = bytes.fromhex(value)
    elif isinstance(value, str) and value:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != size:
            raise ValueError(f"{what}: expected {size * 2} hex digits, got '{value[:40]}'")
    else:
        raise ValueError(f"{what}: missing")
    if len(raw) != size or not any(raw):
        raise ValueError(f"{what}: expected {size} non-zero bytes ({size * 2} hex digits)")
    return raw.hex()


def _nanos(value: Any, what: str) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{what}: expected Unix nanoseconds, got {type(value).__name__}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{what}: expected Unix nanoseconds, got '{str(value)[:40]}'") from None


def _pb_value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_pb_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode("ascii")
    return getattr(v, kind)


def _pb_attrs(attrs: Iterable) -> dict[str, Any]:
    return {kv.key: _pb_value(kv.value) for kv in attrs}


def decode_protobuf(body: bytes) -> Decoded:
    """An ``ExportTraceServiceRequest`` in protobuf; OtlpBodyError when it is not one."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    if body[:1] in (b"{", b"["):  # a request's protobuf starts with field 1 (0x0a): this is JSON
        raise OtlpBodyError("the body looks like JSON: send it with Content-Type: application/json")
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise OtlpBodyError(f"the body is not an OTLP ExportTraceServiceRequest in protobuf ({exc})") from None
    spans: list[OtelSpan] = []
    rejected: list[str] = []
    n = 0
    for rs in request.resource_spans:
        resource = _pb_attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                where = f"span {n} ('{s.name}')"
                n += 1
                try:
                    spans.append(
                        OtelSpan(
                            trace_id=_hex_id(bytes(s.trace_id), 16, "traceId"),
                            span_id=_hex_id(bytes(s.span_id), 8, "spanId"),
                            parent_id=_hex_id(bytes(s.parent_span_id), 8, "parentSpanId") if s.parent_span_id else None,
                            name=s.name,
                            start_ns=s.start_time_unix_nano or None,
                            end_ns=s.end_time_unix_nano or None,
                            attributes=_pb_attrs(s.attributes),
                            events=[
                                {
                                    "name": e.name,
                                    "time_ns": e.time_unix_nano or None,
                                    "attributes": _pb_attrs(e.attributes),
                                }
                                for e in s.events
                            ],
                            status_code=int(s.status.code),
                            status_message=s.status.message or None,
                            resource=resource,
                            scope=ss.scope.name or None,
                        )
                    )
                except ValueError as exc:
                    rejected.append(f"{where}: {exc}")
    return Decoded(spans, rejected)


def _get(obj: dict, camel: str) -> Any:
    """A field by its OTLP JSON name (lowerCamelCase), or its protobuf name (snake_case) as some senders write."""
    if camel in obj:
        return obj[camel]
    return obj.get(re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel))


def _json_value(v: Any, what: str) -> Any:
    """An OTLP JSON AnyValue ({"stringValue": ...}, {"intValue": "3"}, arrays, kvlists) as a Python value."""
    if not isinstance(v, dict):
        raise ValueError(f"{what}: expected an AnyValue object, got {type(v).__name__}")
    if not v:
        return None
    (kind, inner), *_ = v.items()
    if kind in ("stringValue", "string_value"):
        return inner if isinstance(inner, str) else str(inner)
    if kind in ("boolValue", "bool_value"):
        return bool(inner)
    if kind in ("intValue", "int_value"):
        try:
            return int(inner)
        except (TypeError, ValueError):
            raise ValueError(f"{what}: intValue '{inner}' is not a whole number") from None
    if kind in ("doubleValue", "double_value"):
        if is_number(inner):
            return float(inner)
        try:
            return float(inner)
        except (TypeError, ValueError):
            raise ValueError(f"{what}: doubleValue '{inner}' is not a number") from None
    if kind in ("arrayValue", "array_value"):
        values = _get(inner, "values") if isinstance(inner, dict) else None
        return [_json_value(x, f"{what}[{i}]") for i, x in enumerate(values or [])]
    if kind in ("kvlistValue", "kvlist_value"):
        values = _get(inner, "values") if isinstance(inner, dict) else None
        return _json_attrs(values or [], what)
    if kind in ("bytesValue", "bytes_value"):
        return inner
    raise ValueError(f"{what}: unknown value type '{kind}'")


def _json_attrs(attrs: Any, what: str) -> dict[str, Any]:
    if attrs is None:
        return {}
    if not isinstance(attrs, list):
        raise ValueError(f"{what}: expected a list of {{key, value}}, got {type(attrs).__name__}")
    out = {}
    for i, kv in enumerate(attrs):
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            raise ValueError(f"{what}[{i}]: expected {{key, value}}")
        out[kv["key"]] = _json_value(kv.get("value") or {}, f"{what}.{kv['key']}")
    return out


def _json_list(obj: dict, key: str, what: str) -> list:
    value = _get(obj, key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise OtlpBodyError(f"{what}{key}: expected a list, got {type(value).__name__}")
    return value


def decode_json(body: bytes) -> Decoded:
    """An ``ExportTraceServiceRequest`` in OTLP JSON; OtlpBodyError when the body is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OtlpBodyError(f"the body is not JSON ({exc})") from None
    except RecursionError:
        raise OtlpBodyError("the body is nested too deeply to read") from None
    if not isinstance(data, dict):
        raise OtlpBodyError(f"the body must be a JSON object with resourceSpans, got {type(data).__name__}")
    spans: list[OtelSpan] = []
    rejected: list[str] = []
    n = 0
    for i, rs in enumerate(_json_list(data, "resourceSpans", "")):
        if not isinstance(rs, dict):
            raise OtlpBodyError(f"resourceSpans[{i}]: expected an object")
        res = _get(rs, "resource") or {}
        try:
            resource = _json_attrs(_get(res, "attributes") if isinstance(res, dict) else None, "resource.attributes")
        except ValueError as exc:
            raise OtlpBodyError(f"resourceSpans[{i}].{exc}") from None
        for j, ss in enumerate(_json_list(rs, "scopeSpans", f"resourceSpans[{i}].")):
            if not isinstance(ss, dict):
                raise OtlpBodyError(f"resourceSpans[{i}].scopeSpans[{j}]: expected an object")
            scope = _get(ss, "scope")
            scope_name = scope.get("name") if isinstance(scope, dict) else None
            for s in _json_list(ss, "spans", f"resourceSpans[{i}].scopeSpans[{j}]."):
                where = f"span {n}"
                n += 1
                try:
                    if not isinstance(s, dict):
                        raise ValueError(f"expected an object, got {type(s).__name__}")
                    name = s.get("name")
                    where += f" ('{name}')" if isinstance(name, str) else ""
                    status = s.get("status") if isinstance(s.get("status"), dict) else {}
                    code = status.get("code", 0)
                    code = _STATUS_NAMES.get(code, 0) if isinstance(code, str) else int(code or 0)
                    events = []
                    for e_i, e in enumerate(s.get("events") or []):
                        if isinstance(e, dict):
                            events.append(
                                {
                                    "name": e.get("name"),
                                    "time_ns": _nanos(_get(e, "timeUnixNano"), f"events[{e_i}].timeUnixNano"),
                                    "attributes": _json_attrs(e.get("attributes"), f"events[{e_i}].attributes"),
                                }
                            )
                    parent = _get(s, "parentSpanId")
                    spans.append(
                        OtelSpan(
                            trace_id=_hex_id(_get(s, "traceId"), 16, "traceId"),
                            span_id=_hex_id(_get(s, "spanId"), 8, "spanId"),
                            parent_id=_hex_id(parent, 8, "parentSpanId") if parent else None,
                            name=name if isinstance(name, str) else "",
                            start_ns=_nanos(_get(s, "startTimeUnixNano"), "startTimeUnixNano"),
                            end_ns=_nanos(_get(s, "endTimeUnixNano"), "endTimeUnixNano"),
                            attributes=_json_attrs(s.get("attributes"), "attributes"),
                            events=events,
                            status_code=code,
                            status_message=status.get("message") or None,
                            resource=resource,
                            scope=scope_name if isinstance(scope_name, str) else None,
                        )
                    )
                except (ValueError, TypeError) as exc:
                    rejected.append(f"{where}: {exc}")
    return Decoded(spans, rejected)


def decode_request(body: bytes, content_type: str) -> Decoded:
    """Decode by content type: JSON for ``application/json``, protobuf otherwise (OTLP's default)."""
    if "json" in (content_type or "").lower():
        return decode_json(body)
    return decode_protobuf(body)


# ---------------------------------------------------------------- one span -> one step


def _iso(ns: int | None) -> str | None:
    if not ns:
        return None
    ms = ns // 1_000_000  # integer arithmetic: a float of nanoseconds since 1970 loses the millisecond
    try:
        dt = datetime.fromtimestamp(ms // 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"time {ns} ns is out of range") from None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _decoded(value: Any) -> Any:
    """A metadata value as the langfuse SDK v5 writes it (JSON-encoded, strings too); others as they are."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):  # not JSON, or too deep to read: kept as the text it is
            return value
    return value


def _prefixed(attrs: dict, prefix: str) -> dict[str, Any]:
    """``prefix.key`` attributes as {key: value}, and ``prefix`` itself when it holds an object."""
    out: dict[str, Any] = {}
    whole = attrs.get(prefix)
    if whole is not None:
        whole = _decoded(whole)
        if isinstance(whole, dict):
            out.update(whole)
        else:
            out["metadata"] = whole
    dotted = prefix + "."
    for key, value in attrs.items():
        if key.startswith(dotted) and len(key) > len(dotted):
            out[key[len(dotted) :]] = _decoded(value)
    return out


def _indexed_messages(attrs: dict, prefix: str) -> list[dict] | None:
    """``gen_ai.prompt.0.role``/``gen_ai.prompt.0.content`` ... as [{"role", "content"}, ...] (by index)."""
    dotted = prefix + "."
    found: dict[int, dict] = {}
    for key, value in attrs.items():
        if not key.startswith(dotted):
            continue
        index, _, rest = key[len(dotted) :].partition(".")
        if not index.isdigit() or not rest:
            continue
        found.setdefault(int(index), {})[rest] = maybe_json(value) if rest != "content" else value
    return [found[i] for i in sorted(found)] or None


def _first(attrs: dict, *keys: str) -> Any:
    """The first of ``keys`` with a value (not None, not empty text)."""
    for k in keys:
        v = attrs.get(k)
        if v is not None and v != "":
            return v
    return None


def _event_attr(span: OtelSpan, event_names: tuple[str, ...], key: str) -> Any:
    for e in span.events:
        if e.get("name") in event_names and e["attributes"].get(key) not in (None, ""):
            return e["attributes"][key]
    return None


# Where a span's input / output may be: attributes in order of preference, then the GenAI indexed
# messages (``gen_ai.prompt.0.content``), then the GenAI content event carrying that attribute.
_IO_ATTRIBUTES = {
    "input": (
        (
            "langfuse.observation.input",
            "gen_ai.input.messages",
            "gen_ai.prompt",
            "gen_ai.tool.call.arguments",
            "input.value",
            "traceloop.entity.input",
        ),
        "gen_ai.prompt",
        "gen_ai.content.prompt",
    ),
    "output": (
        (
            "langfuse.observation.output",
            "gen_ai.output.messages",
            "gen_ai.completion",
            "gen_ai.tool.call.result",
            "output.value",
            "traceloop.entity.output",
        ),
        "gen_ai.completion",
        "gen_ai.content.completion",
    ),
}


def _span_io(span: OtelSpan, which: str) -> Any:
    """The span's ``input`` or ``output`` (``which``), parsed when it is JSON text."""
    keys, messages, event = _IO_ATTRIBUTES[which]
    value = _first(span.attributes, *keys)
    if value is None:
        value = _indexed_messages(span.attributes, messages)
    if value is None:
        value = _event_attr(span, (event,), messages)
    return maybe_json(value)


def _step_type(a: dict, model: Any) -> str:
    explicit = a.get("langfuse.observation.type")
    if isinstance(explicit, str) and explicit.strip():
        return explicit.strip().upper()
    kind = a.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in _OPENINFERENCE_TYPES:
        return _OPENINFERENCE_TYPES[kind.upper()]
    op = a.get("gen_ai.operation.name")
    if isinstance(op, str) and op.lower() in _OPERATION_TYPES:
        return _OPERATION_TYPES[op.lower()]
    return "GENERATION" if model else "SPAN"


def _number_or_none(value: Any, what: str) -> float | int | None:
    value = maybe_json(value)
    if value is None or value == "":
        return None
    if is_number(value):
        return value
    try:
        return float(value) if "." in str(value) else int(value)
    except (TypeError, ValueError):
        raise TraceFieldError(what, f"expected a number, got '{str(value)[:40]}'") from None


def _usage(a: dict) -> tuple[Any, Any]:
    """(input tokens, output tokens) from usage_details, else the GenAI / OpenInference counters."""
    details = maybe_json(a.get("langfuse.observation.usage_details"))
    ins = outs = None
    if details is not None and not isinstance(details, dict):
        raise TraceFieldError("langfuse.observation.usage_details", "expected a JSON object of token counts")
    if details:
        ins = _first(details, "input", "prompt_tokens", "input_tokens", "promptTokens")
        outs = _first(details, "output", "completion_tokens", "output_tokens", "completionTokens")
    if ins is None:
        ins = _first(a, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
    if outs is None:
        outs = _first(a, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion")
    return ins, outs


def _cost(a: dict) -> Any:
    details = maybe_json(a.get("langfuse.observation.cost_details"))
    if details is not None and not isinstance(details, dict):
        raise TraceFieldError("langfuse.observation.cost_details", "expected a JSON object of costs")
    if details:
        if details.get("total") is not None:
            return _number_or_none(details["total"], "langfuse.observation.cost_details.total")
        parts = [_number_or_none(v, f"langfuse.observation.cost_details.{k}") for k, v in details.items()]
        parts = [p for p in parts if p is not None]
        return sum(parts) if parts else None
    return _number_or_none(a.get("gen_ai.usage.cost"), "gen_ai.usage.cost")


def span_to_step(span: OtelSpan) -> dict:
    """One span as a unified step (checked by ``normalize_step``); TraceFieldError names a bad attribute."""
    a = span.attributes
    model = _first(
        a, "langfuse.observation.model.name", "gen_ai.request.model", "gen_ai.response.model", "llm.model_name"
    )
    level = a.get("langfuse.observation.level")
    status = a.get("langfuse.observation.status_message") or span.status_message
    if status is None:
        status = _event_attr(span, ("exception",), "exception.message")
    if not level:
        level = "ERROR" if span.status_code == _STATUS_ERROR else "DEFAULT"
    ins, outs = _usage(a)
    name = span.name or _first(a, "gen_ai.tool.name") or None
    raw = {
        "id": span.span_id,
        "parent_id": span.parent_id,
        "type": _step_type(a, model),
        "name": name,
        "input": _span_io(span, "input"),
        "output": _span_io(span, "output"),
        "model": model,
        "start_time": _iso(span.start_ns),
        "end_time": _iso(span.end_ns),
        "level": str(level).upper(),
        "status_message": status,
        "input_tokens": _number_or_none(ins, "usage.input_tokens"),
        "output_tokens": _number_or_none(outs, "usage.output_tokens"),
        "cost_usd": _cost(a),
    }
    return normalize_step(raw, 0)


def _span_trace_fields(span: OtelSpan) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """(explicit trace values, tags, trace metadata) that one span sets."""
    a = span.attributes
    explicit = {}
    for key, names in (
        ("name", ("langfuse.trace.name",)),
        ("input", ("langfuse.trace.input",)),
        ("output", ("langfuse.trace.output",)),
        ("user_id", ("user.id", "langfuse.user.id", "enduser.id")),
        ("session_id", ("session.id", "langfuse.session.id", "gen_ai.conversation.id")),
    ):
        value = _first(a, *names)
        if value is not None:
            explicit[key] = maybe_json(value) if key in ("input", "output") else str(value)
    tags = maybe_json(a.get("langfuse.trace.tags"))
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    tags = [str(t) for t in tags] if isinstance(tags, list) else []
    metadata = _prefixed(a, "langfuse.trace.metadata")
    for key, names in (
        ("environment", ("langfuse.environment", "deployment.environment")),
        ("release", ("langfuse.release",)),
        ("version", ("langfuse.version", "service.version")),
        ("gen_ai.system", ("gen_ai.system", "gen_ai.provider.name")),
    ):
        value = _first(a, *names) if key != "version" else _first({**span.resource, **a}, *names)
        if value is not None and key not in metadata:
            metadata[key] = value
    service = span.resource.get("service.name")
    if service and not str(service).startswith("unknown_service") and "service.name" not in metadata:
        metadata["service.name"] = service
    return explicit, tags, metadata


# ---------------------------------------------------------------- spans -> traces


def _ordered(steps: Iterable[dict]) -> list[dict]:
    """True roots (no parent) first, then by start time: the first step is the one the trace derives from."""
    # A stable sort: steps that start in the same millisecond keep the order they came in (by nanosecond).
    return sorted(steps, key=lambda s: (s.get("parent_id") is not None, s.get("start_time") or ""))


def group_spans(spans: Iterable[OtelSpan]) -> tuple[list[TraceParts], list[str]]:
    """One ``TraceParts`` per trace id (in first-seen order), and a message per span that could not be mapped."""
    parts: dict[str, TraceParts] = {}
    roots: dict[str, OtelSpan] = {}
    rejected: list[str] = []
    per_trace: dict[str, list[OtelSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_ns or 0):
        try:
            step = span_to_step(span)
        except ValueError as exc:  # TraceFieldError among them
            rejected.append(f"span '{span.name}' ({span.span_id} of trace {span.trace_id}): {exc}")
            continue
        p = parts.get(span.trace_id)
        if p is None:
            p = parts[span.trace_id] = TraceParts(span.trace_id, [], {}, [], {})
            per_trace[span.trace_id] = []
        p.steps.append(step)
        per_trace[span.trace_id].append(span)
        if span.parent_id is None and (
            span.trace_id not in roots or (span.start_ns or 0) < (roots[span.trace_id].start_ns or 0)
        ):
            roots[span.trace_id] = span
    for trace_id, p in parts.items():
        root = roots.get(trace_id)
        # The root span speaks last, so its values win over a child's; its own metadata is the trace's.
        ordered = sorted(per_trace[trace_id], key=lambda s: s is root)
        step_metadata: dict[str, Any] = {}
        for span in ordered:
            explicit, tags, metadata = _span_trace_fields(span)
            p.explicit.update(explicit)
            p.tags += [t for t in tags if t not in p.tags]
            p.metadata.update(metadata)
            own = _prefixed(span.attributes, "langfuse.observation.metadata")
            if own and span is root:
                p.metadata.update({k: v for k, v in own.items() if k not in p.metadata})
            elif own:
                step_metadata[span.span_id] = own
        if step_metadata:
            p.metadata["step_metadata"] = step_metadata
    return list(parts.values()), rejected


def build_trace(trace_id: str, steps: list[dict], explicit: dict, tags: list[str], metadata: dict) -> Trace:
    """The unified trace of one OTel trace: the root span gives name, input, output; every span is a step."""
    steps = _ordered(steps)
    root = steps[0] if steps else None
    raw = {
        "id": trace_id,
        "source_id": trace_id,
        "name": explicit.get("name") or (root.get("name") if root else None),
        "input": explicit.get("input"),
        "output": explicit.get("output"),
        "metadata": metadata,
        "tags": tags,
        "user_id": explicit.get("user_id"),
        "session_id": explicit.get("session_id"),
    }
    # Steps are normalised once, as spans become steps (span_to_step); stored ones were when stored.
    return trace_from_steps(raw, steps, source=SOURCE)


def parts_trace(p: TraceParts) -> Trace:
    """The unified trace of one batch's parts alone (nothing stored yet)."""
    return build_trace(p.trace_id, p.steps, p.explicit, p.tags, p.metadata)


def merge_trace(stored: dict, p: TraceParts) -> Trace:
    """``stored`` (the unified trace kept for this trace id) with a later batch's spans merged in.

    A step with the same span id is replaced; the others are kept. Name, input and output that
    differ from what the stored steps alone would give were set explicitly, and stay unless the
    new batch sets them again; with the root now present, derived ones follow the real root.
    """
    old_steps = list(stored.get("steps") or [])
    derived = build_trace(p.trace_id, old_steps, {}, [], {})
    explicit = {k: stored.get(k) for k in ("name", "input", "output") if stored.get(k) != derived.get(k)}
    for k in ("user_id", "session_id"):
        if stored.get(k) is not None:
            explicit[k] = stored[k]
    explicit.update(p.explicit)
    new_ids = {s["id"] for s in p.steps}
    steps = [s for s in old_steps if s.get("id") not in new_ids] + p.steps
    tags = list(stored.get("tags") or [])
    tags += [t for t in p.tags if t not in tags]
    metadata = dict(stored.get("metadata") or {})
    old_step_meta = metadata.get("step_metadata") if isinstance(metadata.get("step_metadata"), dict) else {}
    metadata.update(p.metadata)
    if old_step_meta or "step_metadata" in p.metadata:
        metadata["step_metadata"] = {**old_step_meta, **(p.metadata.get("step_metadata") or {})}
    return build_trace(p.trace_id, steps, explicit, tags, metadata)


def rejection_message(rejected: list[str]) -> str:
    """One line for the OTLP partial-success ``error_message``: how many, and the first few reasons."""
    if not rejected:
        return ""
    distinct = list(dict.fromkeys(rejected))  # a trace that fails as a whole says so once, not per span
    shown = "; ".join(distinct[:MAX_REPORTED])
    more = f"; and {len(distinct) - MAX_REPORTED} more" if len(distinct) > MAX_REPORTED else ""
    return f"{len(rejected)} span(s) rejected: {shown}{more}"
