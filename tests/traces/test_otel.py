"""OpenTelemetry spans -> the unified trace: spans made by the real langfuse SDK and the OpenTelemetry SDK."""

from __future__ import annotations

import base64
import json

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from forge.traces import otel


def tent_question(lf) -> str:
    """A small app traced with the langfuse client ``lf`` (a root span and a generation); its trace id."""
    from langfuse import propagate_attributes

    with lf.start_as_current_observation(
        name="answer-question",
        as_type="span",
        input={"question": "How many people fit in the tent?"},
        metadata={"team": "support"},
    ) as root:
        with propagate_attributes(
            user_id="user-7",
            session_id="session-3",
            tags=["prod", "tents"],
            trace_name="tent-qa",
            metadata={"customer": "acme"},
        ):
            with lf.start_as_current_observation(
                name="llm-call",
                as_type="generation",
                model="gpt-4o-mini",
                input=[{"role": "user", "content": "How many people fit in the tent?"}],
                usage_details={"input": 120, "output": 8},
                cost_details={"total": 0.00042},
                level="WARNING",
                status_message="retried once",
                metadata={"attempt": 2},
            ) as gen:
                gen.update(output={"role": "assistant", "content": "Four people."})
        root.update(output="Four people fit.")
        trace_id = lf.get_current_trace_id()
    lf.flush()
    return trace_id


def _langfuse_spans(public_key: str) -> list:
    """The spans of ``tent_question`` as the langfuse SDK exports them."""
    from langfuse import Langfuse

    exporter = InMemorySpanExporter()
    lf = Langfuse(public_key=public_key, secret_key="sk", base_url="http://127.0.0.1:9", span_exporter=exporter)
    tent_question(lf)
    lf.shutdown()
    return list(exporter.get_finished_spans())


def _otel_tracer():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "shop-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("opentelemetry.instrumentation.openai_v2"), exporter


def _decode(spans) -> otel.Decoded:
    return otel.decode_protobuf(encode_spans(spans).SerializeToString())


def _traces(spans) -> list[dict]:
    decoded = _decode(spans)
    parts, rejected = otel.group_spans(decoded.spans)
    assert decoded.rejected == [] and rejected == []
    return [otel.parts_trace(p) for p in parts]


def test_a_langfuse_sdk_trace_becomes_one_unified_trace():
    spans = _langfuse_spans("pk-mapping-1")
    (trace,) = _traces(spans)
    root_span = next(s for s in spans if s.parent is None)
    assert trace["source"] == "otel" and trace["source_id"] == format(root_span.context.trace_id, "032x")
    assert trace["name"] == "tent-qa"  # the trace name set through propagate_attributes wins over the span's
    assert trace["input"] == {"question": "How many people fit in the tent?"}
    assert trace["output"] == "Four people fit."
    assert trace["input_text"] == "How many people fit in the tent?" and trace["output_text"] == "Four people fit."
    assert (trace["user_id"], trace["session_id"], trace["tags"]) == ("user-7", "session-3", ["prod", "tents"])
    assert trace["metadata"]["customer"] == "acme" and trace["metadata"]["team"] == "support"
    by_name = {s["name"]: s for s in trace["steps"]}
    gen, root = by_name["llm-call"], by_name["answer-question"]
    assert root["parent_id"] is None and gen["parent_id"] == root["id"] == format(root_span.context.span_id, "016x")
    assert trace["steps"][0] is root or trace["steps"][0] == root  # the root comes first
    assert (gen["type"], gen["model"], gen["input_tokens"], gen["output_tokens"]) == (
        "GENERATION",
        "gpt-4o-mini",
        120,
        8,
    )
    assert gen["cost_usd"] == pytest.approx(0.00042) and trace["cost_usd"] == pytest.approx(0.00042)
    assert (gen["level"], gen["status_message"]) == ("WARNING", "retried once")
    assert gen["output"] == {"role": "assistant", "content": "Four people."}
    assert trace["metadata"]["step_metadata"] == {gen["id"]: {"attempt": 2}}
    assert trace["latency_ms"] == pytest.approx((root_span.end_time - root_span.start_time) / 1e6, abs=1.0)
    assert trace["timestamp"].endswith("Z") and gen["start_time"] >= root["start_time"]


def test_genai_semantic_conventions_from_a_plain_opentelemetry_sdk():
    tracer, exporter = _otel_tracer()
    with tracer.start_as_current_span("handle-request") as root:
        root.set_attribute("session.id", "conv-1")
        with tracer.start_as_current_span("chat gpt-4o") as chat:
            chat.set_attributes(
                {
                    "gen_ai.system": "openai",
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.response.model": "gpt-4o-2024-08-06",
                    "gen_ai.usage.prompt_tokens": 31,
                    "gen_ai.usage.completion_tokens": 9,
                    "gen_ai.prompt.0.role": "system",
                    "gen_ai.prompt.0.content": "You sell tents.",
                    "gen_ai.prompt.1.role": "user",
                    "gen_ai.prompt.1.content": "Is the Alpine 4 waterproof?",
                    "gen_ai.completion.0.role": "assistant",
                    "gen_ai.completion.0.content": "Yes, to 3000 mm.",
                }
            )
        with tracer.start_as_current_span("execute_tool stock_lookup") as tool:
            tool.set_attributes(
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "stock_lookup",
                    "gen_ai.tool.call.arguments": '{"sku": "ALP-4"}',
                    "gen_ai.tool.call.result": '{"in_stock": 0}',
                }
            )
            tool.set_status(Status(StatusCode.ERROR, "warehouse API timed out"))
        with tracer.start_as_current_span("chat claude") as chat2:
            chat2.set_attributes(
                {
                    "gen_ai.request.model": "claude-sonnet-4-5",
                    "gen_ai.usage.input_tokens": 50,
                    "gen_ai.usage.output_tokens": 12,
                    "gen_ai.input.messages": json.dumps(
                        [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
                    ),
                    "gen_ai.output.messages": json.dumps(
                        [{"role": "assistant", "parts": [{"type": "text", "content": "Hello!"}]}]
                    ),
                }
            )
    (trace,) = _traces(exporter.get_finished_spans())
    by_name = {s["name"]: s for s in trace["steps"]}
    chat = by_name["chat gpt-4o"]
    assert (chat["type"], chat["model"], chat["input_tokens"], chat["output_tokens"]) == ("GENERATION", "gpt-4o", 31, 9)
    assert chat["input"] == [
        {"role": "system", "content": "You sell tents."},
        {"role": "user", "content": "Is the Alpine 4 waterproof?"},
    ]
    assert chat["output"] == [{"role": "assistant", "content": "Yes, to 3000 mm."}]
    tool = by_name["execute_tool stock_lookup"]
    assert (tool["type"], tool["input"], tool["output"]) == ("TOOL", {"sku": "ALP-4"}, {"in_stock": 0})
    assert (tool["level"], tool["status_message"]) == ("ERROR", "warehouse API timed out")
    claude = by_name["chat claude"]
    assert (claude["type"], claude["model"], claude["input_tokens"]) == ("GENERATION", "claude-sonnet-4-5", 50)
    assert claude["output"][0]["parts"][0]["content"] == "Hello!"
    assert trace["name"] == "handle-request" and trace["session_id"] == "conv-1"
    assert trace["metadata"]["service.name"] == "shop-bot" and trace["metadata"]["gen_ai.system"] == "openai"
    # The root has no output of its own: the trace's output is the last generation's answer.
    assert trace["output_text"] == "Hello!"
    assert by_name["handle-request"]["level"] == "DEFAULT"


def test_genai_content_events_and_openinference_attributes():
    tracer, exporter = _otel_tracer()
    with tracer.start_as_current_span("agent") as root:
        root.set_attributes({"openinference.span.kind": "AGENT", "input.value": "plan a trip", "enduser.id": "u-5"})
        with tracer.start_as_current_span("completion") as span:  # the older GenAI convention: content as events
            span.set_attributes({"gen_ai.request.model": "gpt-4o-mini", "gen_ai.operation.name": "text_completion"})
            span.add_event("gen_ai.content.prompt", {"gen_ai.prompt": "Where to in May?"})
            span.add_event("gen_ai.content.completion", {"gen_ai.completion": "Lisbon."})
        with tracer.start_as_current_span("llm") as span:
            span.set_attributes(
                {
                    "openinference.span.kind": "LLM",
                    "llm.model_name": "claude-sonnet-4-5",
                    "llm.token_count.prompt": 7,
                    "llm.token_count.completion": 3,
                    "output.value": "Book the 9:40 train.",
                }
            )
        with tracer.start_as_current_span("fails") as span:
            span.record_exception(RuntimeError("quota exhausted"))
            span.set_status(Status(StatusCode.ERROR))
    (trace,) = _traces(exporter.get_finished_spans())
    by_name = {s["name"]: s for s in trace["steps"]}
    assert (by_name["agent"]["type"], trace["input_text"], trace["user_id"]) == ("AGENT", "plan a trip", "u-5")
    completion = by_name["completion"]
    assert (completion["type"], completion["input"], completion["output"]) == (
        "GENERATION",
        "Where to in May?",
        "Lisbon.",
    )
    llm = by_name["llm"]
    assert (llm["type"], llm["model"], llm["input_tokens"], llm["output_tokens"]) == (
        "GENERATION",
        "claude-sonnet-4-5",
        7,
        3,
    )
    assert (by_name["fails"]["level"], by_name["fails"]["status_message"]) == ("ERROR", "quota exhausted")


def test_spans_of_one_trace_in_several_batches_merge_into_the_stored_trace():
    spans = _langfuse_spans("pk-mapping-2")
    child = [s for s in spans if s.parent is not None]
    root = [s for s in spans if s.parent is None]
    # The SDK exports spans as they end: the generation first, the root later.
    (first,) = otel.group_spans(_decode(child).spans)[0]
    stored = otel.parts_trace(first)
    assert [s["name"] for s in stored["steps"]] == ["llm-call"] and stored["name"] == "tent-qa"
    (second,) = otel.group_spans(_decode(root).spans)[0]
    merged = otel.merge_trace(json.loads(json.dumps(stored)), second)
    assert [s["name"] for s in merged["steps"]] == ["answer-question", "llm-call"]
    assert merged["name"] == "tent-qa" and merged["output"] == "Four people fit."
    assert merged["metadata"]["team"] == "support" and merged["metadata"]["step_metadata"]
    assert merged["cost_usd"] == pytest.approx(0.00042)
    # The same spans sent again change nothing (no duplicate steps).
    again = otel.merge_trace(json.loads(json.dumps(merged)), second)
    assert again == merged


def test_a_name_derived_from_a_child_gives_way_to_the_root_when_it_arrives():
    tracer, exporter = _otel_tracer()
    with tracer.start_as_current_span("pipeline"):
        with tracer.start_as_current_span("retrieve"):
            pass
    spans = exporter.get_finished_spans()
    (first,) = otel.group_spans(_decode([s for s in spans if s.parent is not None]).spans)[0]
    stored = otel.parts_trace(first)
    assert stored["name"] == "retrieve"  # the best guess while the root is missing
    (second,) = otel.group_spans(_decode([s for s in spans if s.parent is None]).spans)[0]
    assert otel.merge_trace(stored, second)["name"] == "pipeline"


def _hex_json(spans) -> dict:
    """The OTLP JSON encoding of ``spans``: protobuf's JSON with ids as hex, as the specification requires."""
    body = json_format.MessageToDict(encode_spans(spans))
    for rs in body["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in s:
                        s[key] = base64.b64decode(s[key]).hex()
    return body


def test_json_and_protobuf_bodies_give_the_same_trace():
    spans = _langfuse_spans("pk-mapping-3")
    from_pb = _traces(spans)
    decoded = otel.decode_json(json.dumps(_hex_json(spans)).encode())
    parts, rejected = otel.group_spans(decoded.spans)
    assert decoded.rejected == [] and rejected == []
    assert [otel.parts_trace(p) for p in parts] == from_pb


def test_bad_spans_are_rejected_with_a_reason_and_the_good_ones_kept():
    spans = _langfuse_spans("pk-mapping-4")
    body = _hex_json(spans)
    good = body["resourceSpans"][0]["scopeSpans"][0]["spans"]
    bad_id = dict(good[0], traceId="not-a-trace-id", name="broken-id")
    bad_usage = json.loads(json.dumps(good[0]))
    bad_usage["name"] = "bad-usage"
    bad_usage["spanId"] = "ab" * 8
    for attr in bad_usage["attributes"]:
        if attr["key"] == "langfuse.observation.usage_details":
            break
    else:
        bad_usage["attributes"].append({"key": "langfuse.observation.usage_details", "value": {}})
        attr = bad_usage["attributes"][-1]
    attr["value"] = {"stringValue": '{"input": "lots"}'}
    good += [bad_id, bad_usage]
    decoded = otel.decode_json(json.dumps(body).encode())
    parts, rejected = otel.group_spans(decoded.spans)
    problems = decoded.rejected + rejected
    assert len(problems) == 2
    assert "broken-id" in problems[0] and "traceId" in problems[0]
    assert "bad-usage" in problems[1] and "lots" in problems[1]
    (trace,) = [otel.parts_trace(p) for p in parts]
    assert sorted(s["name"] for s in trace["steps"]) == ["answer-question", "llm-call"]
    message = otel.rejection_message(problems)
    assert message.startswith("2 span(s) rejected") and "broken-id" in message


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b"{not json", "application/json", "not JSON"),
        (b"[1, 2]", "application/json", "JSON object"),
        (b'{"resourceSpans": {"a": 1}}', "application/json", "resourceSpans: expected a list"),
        (b'{"resourceSpans": []}', "application/x-protobuf", "Content-Type: application/json"),
        (b"\xff\xff\xff\xff", "application/x-protobuf", "protobuf"),
    ],
)
def test_a_body_that_is_no_otlp_export_is_refused_with_the_reason(body, content_type, words):
    with pytest.raises(otel.OtlpBodyError) as err:
        otel.decode_request(body, content_type)
    assert words in str(err.value)


def test_an_empty_export_is_no_trace():
    assert otel.decode_request(b"", "application/x-protobuf").spans == []
    assert otel.decode_request(b"{}", "application/json").spans == []
