"""File importer: real Langfuse exports, unified JSONL/CSV, OpenAI logs, bad files."""

import json

import pytest

from forge import auth
from forge.review import ratings
from forge.store import traces as store
from forge.traces.files import MAX_FIELD_BYTES, import_bytes, import_files

FRAMEWORK = "langfuse/framework_traces"


def _steps_total(db, ws):
    return db.scalar("SELECT sum(json_array_length(steps)) FROM traces WHERE workspace_id = ?", [ws.id])


def test_framework_traces_import_idempotently(db, admin, default_ws, shared_data):
    files = sorted((shared_data / FRAMEWORK).glob("*.json"))
    assert len(files) == 20
    first = import_files(auth.access(db, admin, default_ws.id), files)
    assert (first["imported"], first["updated"], first["failed"], first["errors"]) == (19, 0, 0, [])
    assert first["skipped"] == 1  # two files hold the same trace id
    assert store.count_traces(auth.access(db, admin, default_ws.id)) == 19 and _steps_total(db, default_ws) == 135
    again = import_files(auth.access(db, admin, default_ws.id), files)
    assert (again["imported"], again["updated"]) == (0, 19)
    assert store.count_traces(auth.access(db, admin, default_ws.id)) == 19 and _steps_total(db, default_ws) == 135

    rows = db.fetchall("SELECT id FROM traces WHERE name = 'joke-generator'")
    t = store.get_trace(auth.access(db, admin, default_ws.id), rows[0][0])
    assert t["input_text"] and "bugs" in t["output_text"]
    assert t["models"] == ["openai/gpt-4o-mini-2024-07-18"]  # as the catalog names models
    gen = [s for s in t["steps"] if s["type"] == "GENERATION" and s["input_tokens"] == 417][0]
    assert gen["output_tokens"] == 53 and gen["cost_usd"] == pytest.approx(9.435e-05)
    assert t["input_tokens"] >= 417 and t["cost_usd"] > 0 and t["latency_ms"] == pytest.approx(7424)
    types = {
        s["type"]
        for (tid,) in db.fetchall("SELECT id FROM traces")
        for s in store.get_trace(auth.access(db, admin, default_ws.id), tid)["steps"]
    }
    assert {"GENERATION", "TOOL", "AGENT", "SPAN", "CHAIN"} <= types


def test_bad_rows_are_reported_and_good_rows_kept(db, admin, default_ws):
    good = {"id": "g1", "input": "q", "output": "a", "tags": ["x"]}
    lines = [
        json.dumps(good).encode(),
        b'{"id": "broken", ',
        json.dumps({"id": "t2", "input": "q", "output": "a", "tags": "not-a-list-but-ok"}).encode(),
        json.dumps({"id": "t3", "input": "q", "output": "a", "tags": {"a": 1}}).encode(),
        json.dumps({"id": "t4", "input": "q"}).encode(),
        json.dumps({"id": "t5", "input": "caf\u00e9", "output": "x"}).encode().replace(b"\\u00e9", b"\xe9"),
        json.dumps({"id": "t6", "input": "q", "output": "x" * (MAX_FIELD_BYTES + 10)}).encode(),
        json.dumps({"id": "t7", "input": "q", "output": "a", "steps": [{"input_tokens": "many"}]}).encode(),
    ]
    s = import_bytes(auth.access(db, admin, default_ws.id), "bad.jsonl", b"\n".join(lines))
    by_line = {e["line"]: e for e in s["errors"]}
    assert "invalid JSON" in by_line[2]["message"]
    assert by_line[4]["field"] == "tags"
    assert by_line[5]["field"] == "output" and "missing" in by_line[5]["message"]
    assert by_line[7]["field"] == "output" and "MB" in by_line[7]["message"]
    assert by_line[8]["field"] == "steps[0].input_tokens"
    assert any(w["line"] == 6 and "UTF-8" in w["message"] for w in s["warnings"])
    assert (s["imported"], s["failed"]) == (3, 5)
    t5 = store.get_trace_by_source(auth.access(db, admin, default_ws.id), "file", "t5")
    assert t5["input_text"] == "caf\ufffd"


def test_empty_file_says_so(db, admin, default_ws):
    s = import_bytes(auth.access(db, admin, default_ws.id), "empty.jsonl", b"")
    assert s["imported"] == 0 and s["errors"][0]["message"] == "file is empty"


def test_ratings_go_into_the_named_eval_set(db, admin, default_ws):
    rows = [
        {"id": f"r{i}", "input": "q", "output": "a", "rating": v, "note": "n"}
        for i, v in enumerate(["pass", "down", 1, "maybe"])
    ]
    data = "\n".join(json.dumps(r) for r in rows).encode()
    s = import_bytes(auth.access(db, admin, default_ws.id), "rated.jsonl", data)
    assert s["ratings"]["skipped"] == 4 and any(w["field"] == "rating" for w in s["warnings"])
    s = import_bytes(auth.access(db, admin, default_ws.id), "rated.jsonl", data, eval_set="Grounded")
    assert s["updated"] == 4 and s["ratings"]["stored"] == 3
    assert [e["line"] for e in s["errors"] if e["field"] == "rating"] == [4]
    tid = store.get_trace_by_source(auth.access(db, admin, default_ws.id), "file", "r1")["id"]
    (r,) = ratings.ratings_for_trace(auth.access(db, admin, default_ws.id), tid)
    assert (r["value"], r["rater"], r["eval_set"], r["note"]) == ("fail", "file:rated.jsonl", "Grounded", "n")


def test_openai_chat_log_and_csv_and_json_array(db, admin, default_ws):
    log = {
        "messages": [{"role": "user", "content": "Hi?"}],
        "response": {
            "id": "chatcmpl-1",
            "model": "gpt-4o-mini",
            "created": 1735689600,
            "choices": [{"message": {"role": "assistant", "content": "Hello!"}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2},
        },
    }
    s = import_bytes(auth.access(db, admin, default_ws.id), "chat.jsonl", json.dumps(log).encode())
    t = store.get_trace_by_source(auth.access(db, admin, default_ws.id), "file", "chatcmpl-1")
    assert s["imported"] == 1 and t["output_text"] == "Hello!" and t["input_text"] == "user: Hi?"
    assert t["models"] == ["openai/gpt-4o-mini"] and (t["input_tokens"], t["output_tokens"]) == (5, 2)

    csv_data = b'id,input,output,tags,metadata\nc1,"{""q"": ""x""}",answer,"a;b","{""k"": 1}"\nc2,q2,\n'
    s = import_bytes(auth.access(db, admin, default_ws.id), "rows.csv", csv_data)
    assert s["imported"] == 2, s
    c1 = store.get_trace_by_source(auth.access(db, admin, default_ws.id), "file", "c1")
    assert c1["input"] == {"q": "x"} and c1["tags"] == ["a", "b"] and c1["metadata"] == {"k": 1}

    arr = [{"id": "j1", "input": "a", "output": "b"}, {"id": "j2", "input": "a", "tags": 3, "output": "b"}]
    s = import_bytes(auth.access(db, admin, default_ws.id), "arr.json", json.dumps(arr).encode())
    assert s["imported"] == 1 and s["errors"][0]["line"] == 2 and s["errors"][0]["field"] == "tags"


def test_a_50_mb_field_is_refused_by_name_and_the_rest_of_the_file_kept(db, admin, default_ws, tmp_path):
    from forge.traces.files import import_files

    path = tmp_path / "huge.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "before", "input": "q1", "output": "a1"}) + "\n")
        fh.write(
            json.dumps({"id": "huge", "input": "q2", "metadata": {"blob": "x" * (50 * 1024 * 1024)}, "output": "a2"})
            + "\n"
        )
        fh.write(json.dumps({"id": "after", "input": "q3", "output": "a3"}) + "\n")
    s = import_files(auth.access(db, admin, default_ws.id), [path])
    assert (s["imported"], s["failed"]) == (2, 1)
    (err,) = s["errors"]
    assert err["line"] == 2 and err["field"].startswith("metadata") and "MB" in err["message"]
    assert err["file"].endswith("huge.jsonl")
    kept = {r[0] for r in db.fetchall("SELECT source_id FROM traces")}
    assert kept == {"before", "after"}
    assert db.scalar("SELECT max(length(metadata::VARCHAR)) FROM traces") < 1000
