"""OTLP ingestion over real HTTP: a running Forge server receives traces from the langfuse SDK and OpenTelemetry."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.conftest import PASSWORD
from tests.e2e.browser import serve
from tests.traces.test_otel import tent_question

OTLP = "/api/public/otel/v1/traces"


def _seed(db_path: Path) -> dict:
    """ana (analyst) in 'default' and 'team-a'; otto only in 'otto-space'; vic a viewer in 'default'. Their tokens."""
    from forge import auth, tokens
    from forge.store import Database

    db = Database(str(db_path))
    try:
        admin = auth.create_first_admin(db, "admin", PASSWORD)
        default = auth.resolve_workspace(db, admin)
        team = auth.create_workspace(db, admin, "team-a")
        ana = auth.create_user(db, admin, "ana", PASSWORD, "analyst")
        auth.add_member(db, admin, default.id, "ana")
        auth.add_member(db, admin, team.id, "ana")
        otto = auth.create_user(db, admin, "otto", PASSWORD, "analyst")
        auth.add_member(db, admin, auth.create_workspace(db, admin, "otto-space").id, "otto")
        vic = auth.create_user(db, admin, "vic", PASSWORD, "viewer")
        auth.add_member(db, admin, default.id, "vic")
        made = {name: tokens.create_token(db, user, "otel test")[0] for name, user in (("ana", ana), ("otto", otto))}
        made["vic"] = tokens.create_token(db, vic, "otel test")[0]
        made["default_id"] = default.id
        return made
    finally:
        db.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real Forge server (python -m forge.ui.server, what `make run` starts) on a free port: (url, tokens, log)."""
    tmp = tmp_path_factory.mktemp("otel")
    seeded = _seed(tmp / "served.duckdb")
    log_path = tmp / "server.log"
    with serve(tmp / "served.duckdb", log_path, {"FORGE_COOKIE_KEY": "otel-cookie-" + "k" * 32}) as url:
        yield url, seeded, log_path


def _stored(url: str, token: str, trace_id: str, workspace: str = "default") -> dict | None:
    """The trace Forge keeps for an OpenTelemetry trace id, read back through the JSON API."""
    h = {"Authorization": f"Bearer {token}"}
    found = httpx.get(f"{url}/api/v1/traces", params={"workspace": workspace, "q": trace_id}, headers=h).json()
    rows = [r for r in found["traces"] if r["source_id"] == trace_id and r["source"] == "otel"]
    if not rows:
        return None
    assert len(rows) == 1
    return httpx.get(f"{url}/api/v1/traces/{rows[0]['id']}", params={"workspace": workspace}, headers=h).json()


def _langfuse(url: str, public_key: str, token: str):
    from langfuse import Langfuse

    return Langfuse(public_key=public_key, secret_key=token, base_url=url, flush_at=100, flush_interval=60)


def test_the_langfuse_sdk_sends_a_trace_that_forge_keeps_with_its_steps(server):
    url, seeded, log_path = server
    trace_id = tent_question(_langfuse(url, "default", seeded["ana"]))
    trace = _stored(url, seeded["ana"], trace_id)
    assert trace is not None, log_path.read_text()[-2000:]
    assert (trace["name"], trace["source"], trace["workspace"]["name"]) == ("tent-qa", "otel", "default")
    assert trace["input"] == {"question": "How many people fit in the tent?"}
    assert trace["output_text"] == "Four people fit."
    assert (trace["user_id"], trace["session_id"], trace["tags"]) == ("user-7", "session-3", ["prod", "tents"])
    assert trace["metadata"]["team"] == "support" and trace["metadata"]["customer"] == "acme"
    steps = {s["name"]: s for s in trace["steps"]}
    gen = steps["llm-call"]
    assert (gen["type"], gen["model"], gen["input_tokens"], gen["output_tokens"]) == (
        "GENERATION",
        "gpt-4o-mini",
        120,
        8,
    )
    assert (gen["level"], gen["status_message"]) == ("WARNING", "retried once")
    assert gen["parent_id"] == steps["answer-question"]["id"]
    assert trace["cost_usd"] == pytest.approx(0.00042) and trace["models"] == ["openai/gpt-4o-mini"]
    assert (trace["input_tokens"], trace["output_tokens"]) == (120, 8) and trace["latency_ms"] is not None
    assert seeded["ana"] not in log_path.read_text()  # tokens never reach the log


def test_the_readme_settings_point_an_unchanged_langfuse_app_at_forge(server, monkeypatch):
    from langfuse import Langfuse

    url, seeded, _ = server
    monkeypatch.setenv("LANGFUSE_HOST", url)
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", seeded["ana"])
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", seeded["default_id"])  # the workspace's id names it too
    trace_id = tent_question(Langfuse())
    assert _stored(url, seeded["ana"], trace_id)["name"] == "tent-qa"


def test_the_public_key_picks_the_workspace_and_later_batches_merge(server):
    url, seeded, _ = server
    lf = _langfuse(url, "team-a", seeded["ana"])
    with lf.start_as_current_observation(name="pipeline", as_type="span", input="find tents") as root:
        with lf.start_as_current_observation(name="retrieve", as_type="retriever", output=["doc-1"]):
            pass
        trace_id = lf.get_current_trace_id()
        lf.flush()  # the child alone: the SDK exports spans as they end
        first = _stored(url, seeded["ana"], trace_id, "team-a")
        assert [s["name"] for s in first["steps"]] == ["retrieve"]
        root.update(output="2 tents found")
    lf.flush()
    merged = _stored(url, seeded["ana"], trace_id, "team-a")
    assert merged["id"] == first["id"]  # the same trace, updated
    assert [s["name"] for s in merged["steps"]] == ["pipeline", "retrieve"]
    assert (merged["name"], merged["output"]) == ("pipeline", "2 tents found")
    assert _stored(url, seeded["ana"], trace_id, "default") is None


def test_an_opentelemetry_exporter_with_genai_attributes_and_a_bearer_token(server):
    url, seeded, _ = server
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    exporter = OTLPSpanExporter(
        endpoint=f"{url}{OTLP}?workspace=team-a", headers={"Authorization": f"Bearer {seeded['ana']}"}
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "shop-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("opentelemetry.instrumentation.openai_v2")
    with tracer.start_as_current_span("chat gpt-4o") as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 31,
                "gen_ai.usage.output_tokens": 9,
                "gen_ai.prompt.0.role": "user",
                "gen_ai.prompt.0.content": "Is the Alpine 4 waterproof?",
                "gen_ai.completion.0.role": "assistant",
                "gen_ai.completion.0.content": "Yes, to 3000 mm.",
            }
        )
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()
    trace = _stored(url, seeded["ana"], trace_id, "team-a")
    assert trace["input_text"] == "user: Is the Alpine 4 waterproof?" and trace["output_text"] == "Yes, to 3000 mm."
    (step,) = trace["steps"]
    assert (step["type"], step["model"], step["input_tokens"], step["output_tokens"]) == ("GENERATION", "gpt-4o", 31, 9)
    assert trace["metadata"]["service.name"] == "shop-bot"


def _json_span(trace_id: str, span_id: str, name: str, attributes: list[dict]) -> dict:
    now = time.time_ns()
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "startTimeUnixNano": str(now - 2_000_000),
        "endTimeUnixNano": str(now),
        "attributes": attributes,
    }


def _json_body(*spans: dict) -> bytes:
    return json.dumps(
        {
            "resourceSpans": [
                {"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "app"}, "spans": list(spans)}]}
            ]
        }
    ).encode()


def _post(url: str, body: bytes, token: str | None = None, content_type: str = "application/json", **headers):
    h = {"Content-Type": content_type, **headers}
    if token:
        h["Authorization"] = f"Bearer {token}"
    return httpx.post(url + OTLP, content=body, headers=h, timeout=30)


def test_a_gzipped_json_body_and_a_partial_success(server):
    url, seeded, _ = server
    trace_id = os.urandom(16).hex()
    good = _json_span(
        trace_id,
        os.urandom(8).hex(),
        "summarise",
        [
            {"key": "langfuse.observation.type", "value": {"stringValue": "generation"}},
            {"key": "langfuse.observation.model.name", "value": {"stringValue": "claude-sonnet-4-5"}},
            {"key": "langfuse.observation.input", "value": {"stringValue": "Summarise the return policy."}},
            {"key": "langfuse.observation.output", "value": {"stringValue": "30 days, unused."}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "40"}},
        ],
    )
    bad = _json_span("xyz", os.urandom(8).hex(), "broken", [])
    r = _post(url, gzip.compress(_json_body(good, bad)), seeded["ana"], **{"Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    partial = r.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 1
    assert "broken" in partial["errorMessage"] and "traceId" in partial["errorMessage"]
    trace = _stored(url, seeded["ana"], trace_id)
    assert (trace["name"], trace["output_text"], trace["input_tokens"]) == ("summarise", "30 days, unused.", 40)
    assert trace["models"] == ["anthropic/claude-sonnet-4-5"]
    # Everything fine: an empty answer, as OTLP has it.
    ok = _post(url, _json_body(_json_span(os.urandom(16).hex(), os.urandom(8).hex(), "ok", [])), seeded["ana"])
    assert ok.status_code == 200 and ok.json() == {}


def _status(r: httpx.Response) -> str:
    """The message of an OTLP error answer (a google.rpc.Status, protobuf or JSON like the request)."""
    if r.headers["content-type"].startswith("application/json"):
        return r.json()["message"]
    status = status_pb2.Status()
    status.ParseFromString(r.content)
    return status.message


def test_credentials_401_and_workspaces_403(server):
    url, seeded, _ = server
    body = _json_body(_json_span(os.urandom(16).hex(), os.urandom(8).hex(), "x", []))
    r = _post(url, body)
    assert r.status_code == 401 and "Bearer" in _status(r) and "Basic" in r.headers["www-authenticate"]
    bad = "forge_" + "x" * 43
    r = _post(url, body, bad)
    assert r.status_code == 401 and "invalid token" in _status(r) and bad not in r.text
    basic = httpx.BasicAuth("default", "not-a-token")
    r = httpx.post(url + OTLP, content=body, auth=basic, headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 401 and "invalid token" in _status(r)
    # otto is not in 'default' (Basic public key) nor 'team-a' (query); vic may read but not import.
    r = httpx.post(
        url + OTLP,
        content=body,
        auth=httpx.BasicAuth("default", seeded["otto"]),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 403 and "default" in _status(r)
    r = httpx.post(
        url + OTLP + "?workspace=team-a",
        content=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {seeded['otto']}"},
    )
    assert r.status_code == 403
    assert _post(url, body, seeded["vic"]).status_code == 403
    r = _post(url, body, seeded["ana"], **{"X-Forge-Workspace": "no-such-space"})
    assert r.status_code == 403 and "no-such-space" in _status(r)
    r = _post(url, body, content_type="application/json", Authorization="Basic %%%")
    assert r.status_code == 401 and "unreadable credentials" in _status(r)
    # A token pasted as the public key too is not a workspace, and is not echoed back.
    pasted = httpx.BasicAuth(seeded["ana"], seeded["ana"])
    r = httpx.post(url + OTLP, content=body, auth=pasted, headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and "a token, not a workspace" in r.text and seeded["ana"] not in r.text


def test_a_public_key_naming_no_workspace_lands_in_default_with_a_warning(server):
    url, seeded, _ = server
    trace_id = os.urandom(16).hex()
    body = _json_body(_json_span(trace_id, os.urandom(8).hex(), "from-pk", []))
    r = httpx.post(
        url + OTLP,
        content=body,
        auth=httpx.BasicAuth("pk-lf-1234", seeded["ana"]),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200
    partial = r.json()["partialSuccess"]
    assert int(partial.get("rejectedSpans", 0)) == 0 and "pk-lf-1234" in partial["errorMessage"]
    assert _stored(url, seeded["ana"], trace_id)["name"] == "from-pk"
    # The workspace's id works as a public key as well.
    other = os.urandom(16).hex()
    r = httpx.post(
        url + OTLP,
        content=_json_body(_json_span(other, os.urandom(8).hex(), "by-id", [])),
        auth=httpx.BasicAuth(seeded["default_id"], seeded["ana"]),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200 and r.json() == {} and _stored(url, seeded["ana"], other)["name"] == "by-id"


@pytest.mark.parametrize(
    ("body", "content_type", "encoding", "status", "words"),
    [
        (b"{nope", "application/json", None, 400, "not JSON"),
        (b'{"resourceSpans": 3}', "application/json", None, 400, "resourceSpans"),
        (b'{"resourceSpans": []}', "application/x-protobuf", None, 400, "looks like JSON"),
        (b"plain text", "application/x-protobuf", "gzip", 400, "not valid gzip"),
        (b'{"resourceSpans": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json", None, 400, "too deeply"),
        (b"{}", "application/json", "br", 415, "Content-Encoding 'br'"),
    ],
)
def test_a_malformed_body_is_400_naming_the_problem(server, body, content_type, encoding, status, words):
    url, seeded, _ = server
    extra = {"Content-Encoding": encoding} if encoding else {}
    r = _post(url, body, seeded["ana"], content_type, **extra)
    assert r.status_code == status and words in _status(r)


def test_a_body_beyond_the_limit_is_413_even_when_it_is_small_compressed(server):
    from forge.otel_api import MAX_BODY_BYTES

    url, seeded, _ = server
    bomb = gzip.compress(b" " * (MAX_BODY_BYTES + 1))
    assert len(bomb) < MAX_BODY_BYTES // 100
    r = _post(url, bomb, seeded["ana"], **{"Content-Encoding": "gzip"})
    assert r.status_code == 413 and "smaller batches" in _status(r)
    r = _post(url, b"{" + b" " * (MAX_BODY_BYTES + 1) + b"}", seeded["ana"])
    assert r.status_code == 413


def test_protobuf_answers_are_otlp_messages(server):
    url, seeded, _ = server
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("app").start_as_current_span("step") as span:
        span.set_attribute("langfuse.observation.usage_details", "not json at all")
    body = encode_spans(memory.get_finished_spans()).SerializeToString()
    r = _post(url, body, seeded["ana"], "application/x-protobuf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse()
    answer.ParseFromString(r.content)
    assert answer.partial_success.rejected_spans == 1
    assert "usage_details" in answer.partial_success.error_message
    assert json_format.MessageToDict(answer)["partialSuccess"]["rejectedSpans"] == "1"
