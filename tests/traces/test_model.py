"""Flattening: the text analysts read and evals receive is the answer, not a JSON envelope."""

from __future__ import annotations

import pytest

from forge import auth
from forge.store import traces as trace_store
from forge.traces import files, model


@pytest.fixture
def framework(db, admin, default_ws, shared_data):
    paths = sorted((shared_data / "langfuse" / "framework_traces").glob("*.trace.json"))
    files.import_files(auth.access(db, admin, default_ws.id), paths)
    rows = db.fetchall("SELECT name, input_text, output_text FROM traces")
    return {name: (i, o) for name, i, o in rows}


@pytest.mark.parametrize(
    "name, input_starts, output_starts",
    [
        ("claude.conversation", "What's the weather like in Berlin", "Great! Here's the current weather"),
        ("Agent workflow", "", "The weather in Tokyo is currently sunny"),  # OpenAI Responses API
        ("generate_content", "user: What is Langfuse?", "**Langfuse** is an **open-source"),  # Gemini
        ("beeai-framework-main", "I'm planning a trip to Barcelona", "Barcelona is a vibrant city"),  # Python repr
        ("agent.f9f77d1a-437f-4ba6-890e-b592a50cbd21", "", "Hello my darling Bob!"),
        (
            "invoke_agent 171105b7-59dd-49c0-9677-0b95395aa46a",
            "system: You are a helpful assistant.",
            "Current conditions in Tokyo",
        ),  # last assistant message after a tool call
    ],
)
def test_framework_outputs_flatten_to_the_answer(framework, name, input_starts, output_starts):
    inp, out = framework[name]
    assert inp.startswith(input_starts), inp[:120]
    assert out.startswith(output_starts), out[:120]


def test_langchain_serialised_messages_give_the_ai_answer(db, framework):
    outputs = [r[0] for r in db.fetchall("SELECT output_text FROM traces WHERE name = 'LangGraph'")]
    assert any(o.startswith("It's always sunny in San Francisco") for o in outputs), outputs


def test_messages_as_input_keep_every_role():
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert model.to_text(messages) == "system: Be brief.\nuser: Hi"
    assert model.to_text(messages + [{"role": "assistant", "content": "Hello!"}], answer=True) == "Hello!"


def test_python_repr_is_read_as_data_never_run():
    assert model.to_text("{'role': 'assistant', 'text': 'ok'}", answer=True) == "ok"
    hostile = "{'a': __import__('os').system('echo pwned')}"
    assert model.to_text(hostile) == hostile  # not a literal: kept as the plain string


def test_unknown_shapes_fall_back_to_json_not_loss():
    value = {"toolCallId": "c1", "toolName": "getWeather", "input": {"city": "SF"}}
    assert "getWeather" in model.to_text([value])


def test_stored_trace_keeps_source_json_and_flat_text(db, admin, default_ws):
    raw = {
        "id": "x1",
        "input": [{"role": "user", "content": "Q?"}],
        "output": {"choices": [{"message": {"role": "assistant", "content": "A."}}]},
    }
    res = trace_store.upsert_traces(auth.access(db, admin, default_ws.id), [model.normalize_trace(raw)])
    got = trace_store.get_trace(auth.access(db, admin, default_ws.id), res["ids"][0])
    assert got["output"] == raw["output"]
    assert (got["input_text"], got["output_text"]) == ("user: Q?", "A.")
