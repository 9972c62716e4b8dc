"""What users really bring to the file importer: odd encodings, separators, times, steps, labels."""

import json
import time

import pytest

from forge import auth
from forge.review import ratings
from forge.store import traces as store
from forge.traces.files import import_bytes, import_files


def _jsonl(*rows) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


def _get(db, admin, ws, sid, source="file"):
    return store.get_trace_by_source(auth.access(db, admin, ws.id), source, sid)


def test_odd_epoch_times_are_row_errors_or_parsed_never_a_crash(db, admin, default_ws):
    data = _jsonl(
        {"id": "ok", "input": "q", "output": "a"},
        {"id": "far", "input": "q", "output": "a", "timestamp": 10**400},
        {"id": "us", "input": "q", "output": "a", "timestamp": 1714564800123456},
        {"id": "ns", "input": "q", "output": "a", "timestamp": 1714564800123456789},
        {"id": "str", "input": "q", "output": "a", "timestamp": "1714564800"},
        {"id": "utc", "input": "q", "output": "a", "timestamp": "2024-05-01 12:00:00 UTC"},
        {"id": "rfc", "input": "q", "output": "a", "timestamp": "Wed, 01 May 2024 14:00:00 +0200"},
    )
    s = import_bytes(auth.access(db, admin, default_ws.id), "times.jsonl", data)
    assert (s["imported"], s["failed"]) == (6, 1)
    (err,) = s["errors"]
    assert (err["file"], err["line"], err["field"]) == ("times.jsonl", 2, "timestamp")
    assert _get(db, admin, default_ws, "us")["timestamp"] == "2024-05-01T12:00:00.123Z"
    assert _get(db, admin, default_ws, "ns")["timestamp"] == "2024-05-01T12:00:00.123Z"
    for sid in ("str", "utc", "rfc"):
        assert _get(db, admin, default_ws, sid)["timestamp"] == "2024-05-01T12:00:00.000Z", sid


def test_a_token_count_beyond_64_bits_fails_its_row_not_the_import(db, admin, default_ws):
    data = _jsonl(
        {"id": "before", "input": "q", "output": "a"},
        {"id": "huge", "input": "q", "output": "a", "steps": [{"id": "s", "input_tokens": 10**30}]},
        {"id": "huge2", "input": "q", "output": "a", "steps": [{"id": "s", "output_tokens": "1e30"}]},
        {"id": "after", "input": "q", "output": "a", "steps": [{"id": "s", "input_tokens": "12"}]},
        {"id": "cost", "input": "q", "output": "a", "cost_usd": 10**400},
    )
    s = import_bytes(auth.access(db, admin, default_ws.id), "tokens.jsonl", data)
    assert (s["imported"], s["failed"]) == (2, 3)
    assert [(e["line"], e["field"]) for e in s["errors"]] == [
        (2, "steps[0].input_tokens"),
        (3, "steps[0].output_tokens"),
        (5, "cost_usd"),
    ]
    assert all(len(e["message"]) < 80 for e in s["errors"])
    assert _get(db, admin, default_ws, "after")["input_tokens"] == 12


def test_steps_with_a_parent_cycle_still_give_the_output(db, admin, default_ws):
    row = {
        "id": "cyc",
        "input": "q",
        "steps": [{"id": "a", "parent_id": "b", "output": "A"}, {"id": "b", "parent_id": "a", "output": "B"}],
    }
    s = import_bytes(auth.access(db, admin, default_ws.id), "cycle.jsonl", _jsonl(row))
    assert s["imported"] == 1
    t = _get(db, admin, default_ws, "cyc")
    assert t["output_text"] == "A" and len(t["steps"]) == 2


def test_step_usage_objects_in_sdk_shapes_give_tokens_and_cost(db, admin, default_ws):
    rows = [
        {
            "id": "lf",
            "input": "q",
            "output": "a",
            "steps": [
                {
                    "id": "g",
                    "type": "GENERATION",
                    "usageDetails": {"input": 7, "output": 8},
                    "costDetails": {"total": 0.5},
                }
            ],
        },
        {
            "id": "oa",
            "input": "q",
            "output": "a",
            "steps": [{"id": "g", "usage": json.dumps({"prompt_tokens": 3, "completion_tokens": 4})}],
        },
    ]
    import_bytes(auth.access(db, admin, default_ws.id), "usage.jsonl", _jsonl(*rows))
    lf = _get(db, admin, default_ws, "lf")
    assert (lf["input_tokens"], lf["output_tokens"], lf["cost_usd"]) == (7, 8, 0.5)
    oa = _get(db, admin, default_ws, "oa")
    assert (oa["input_tokens"], oa["output_tokens"]) == (3, 4)


def test_openai_log_with_json_encoded_request_and_response(db, admin, default_ws):
    row = {
        "request": json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}),
        "response": json.dumps({"id": "cc-9", "choices": [{"message": {"role": "assistant", "content": "Yo"}}]}),
    }
    s = import_bytes(auth.access(db, admin, default_ws.id), "log.jsonl", _jsonl(row))
    assert s["imported"] == 1, s["errors"]
    t = _get(db, admin, default_ws, "cc-9")
    assert (t["input_text"], t["output_text"], t["models"]) == ("user: Hi", "Yo", ["openai/gpt-4o"])


def test_a_langfuse_list_page_never_wipes_the_steps_of_a_full_trace(db, admin, default_ws, shared_data):
    detail = shared_data / "langfuse/examples/xtrace_doc_GET_trace_detail.inner.json"
    listing = shared_data / "langfuse/examples/xtrace_doc_GET_traces_list.inner.json"
    tid = json.loads(detail.read_text())["id"]

    def check():
        t = _get(db, admin, default_ws, tid)  # a file writes source "file" only
        assert len(t["steps"]) == 1 and t["models"] == ["qwen3"]
        assert (t["input_text"], t["output_text"], t["input_tokens"]) == ("user: test", "test", 13)

    s = import_files(auth.access(db, admin, default_ws.id), [detail, listing])  # one import, list entry last
    assert (s["imported"], s["skipped"], s["failed"]) == (1, 1, 0)
    check()
    s = import_files(auth.access(db, admin, default_ws.id), [listing])  # a later import of the list page alone
    assert (s["imported"], s["updated"]) == (0, 1)
    check()
    assert store.count_traces(auth.access(db, admin, default_ws.id)) == 1


@pytest.mark.parametrize(
    "value,expected",
    [
        ("thumbs up", "pass"),
        ("Thumbs-Down", "fail"),
        (" PASS ", "pass"),
        (True, "pass"),
        (0, "fail"),
        ("1", "pass"),
        ("false", "fail"),
        ("neutral", "neutral"),
        ("up", "pass"),
    ],
)
def test_rating_spellings(value, expected):
    assert ratings.normalize_rating(value) == expected


@pytest.mark.parametrize("value", ["-1", "2", "maybe", 0.5, "thumbs sideways"])
def test_unknown_rating_spellings_are_refused(value):
    with pytest.raises(ValueError):
        ratings.normalize_rating(value)


def test_jsonl_rows_with_trailing_commas_and_a_pretty_printed_object(db, admin, default_ws):
    data = b'{"id": "c1", "input": "q", "output": "a"},\r\n{"id": "c2", "input": "q", "output": "a"}\r\n]\r\n'
    s = import_bytes(auth.access(db, admin, default_ws.id), "pasted.jsonl", data)
    assert s["imported"] == 2 and [(e["line"], e["field"]) for e in s["errors"]] == [(3, None)]
    pretty = json.dumps({"id": "p1", "input": "q", "output": "a"}, indent=2).encode()
    s = import_bytes(auth.access(db, admin, default_ws.id), "one.jsonl", pretty)
    assert (s["imported"], s["failed"]) == (1, 0)


@pytest.mark.parametrize("name,sep", [("semi.csv", ";"), ("tabs.tsv", "\t"), ("semi.txt", ";")])
def test_csv_with_semicolons_or_tabs(db, admin, default_ws, name, sep):
    text = sep.join(["id", "input", "output", "tags"]) + "\n" + sep.join(["k1", "q", "a, b", "x,y"]) + "\n"
    s = import_bytes(auth.access(db, admin, default_ws.id), name, ("\ufeff" + text).encode())
    assert (s["imported"], s["failed"]) == (1, 0), s["errors"]
    t = _get(db, admin, default_ws, "k1")
    assert (t["output_text"], t["tags"]) == ("a, b", ["x", "y"])


def test_halueval_imports_completely_with_its_human_labels_as_ratings(db, admin, default_ws, shared_data):
    path = shared_data / "halueval_general.jsonl"
    start = time.perf_counter()
    s = import_files(auth.access(db, admin, default_ws.id), [path], eval_set="Hallucination")
    elapsed = time.perf_counter() - start
    assert (s["failed"], s["errors"]) == (0, [])
    # 4,507 rows; two different rows carry the placeholder id "halueval-general-ID": the later one is kept
    assert (s["imported"], s["skipped"]) == (4506, 1)
    assert [w["line"] for w in s["warnings"]] == [2159]
    assert s["ratings"]["stored"] == 4506
    counts = dict(db.fetchall("SELECT value, count(*) FROM ratings GROUP BY 1"))
    assert counts == {"pass": 3692, "fail": 814}
    assert elapsed < 15
    again = import_files(auth.access(db, admin, default_ws.id), [path], eval_set="Hallucination")
    assert (again["imported"], again["updated"]) == (0, 4506)
    assert db.scalar("SELECT count(*) FROM ratings") == 4506


def test_csv_headers_as_spreadsheets_write_them(db, admin, default_ws):
    data = b"ID,Input,Output,User ID,Rating\r\nh1,q,a,u7,Thumbs Up\r\n"
    s = import_bytes(auth.access(db, admin, default_ws.id), "sheet.csv", data, eval_set="Sheet")
    assert (s["imported"], s["failed"], s["ratings"]["stored"]) == (1, 0, 1), s["errors"]
    t = _get(db, admin, default_ws, "h1")
    assert (t["output_text"], t["user_id"]) == ("a", "u7")


def test_utf16_file_with_its_bom(db, admin, default_ws):
    data = "id\tinput\toutput\r\nu1\tcaf\u00e9\tok\r\n".encode("utf-16")
    s = import_bytes(auth.access(db, admin, default_ws.id), "excel.txt", data)
    assert (s["imported"], s["failed"], s["warnings"]) == (1, 0, [])
    assert _get(db, admin, default_ws, "u1")["input_text"] == "caf\u00e9"


def test_a_jsonl_file_starting_with_a_junk_line_is_not_read_as_csv(db, admin, default_ws):
    data = b"# exported by tool, v2; do not edit\n" + _jsonl({"id": "j1", "input": "q", "output": "a"})
    s = import_bytes(auth.access(db, admin, default_ws.id), "export.jsonl", data)
    assert (s["imported"], s["failed"]) == (1, 1)
    assert (s["errors"][0]["line"], s["errors"][0]["field"]) == (1, None)


def test_langfuse_cost_details_without_a_total_are_summed(db, admin, default_ws):
    export = {
        "trace": {"id": "lf-cost", "name": "t"},
        "observations": [
            {
                "id": "o1",
                "traceId": "lf-cost",
                "type": "GENERATION",
                "output": "a",
                "costDetails": {"input": 0.25, "output": 0.5},
                "usageDetails": {"input": 3, "output": 4},
            }
        ],
    }
    s = import_bytes(auth.access(db, admin, default_ws.id), "lf.json", json.dumps(export).encode())
    assert s["imported"] == 1, s["errors"]
    t = _get(db, admin, default_ws, "lf-cost")
    assert (t["cost_usd"], t["input_tokens"], t["output_tokens"]) == (0.75, 3, 4)
