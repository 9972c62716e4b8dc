"""File import under abuse: rows nested 1,000+ levels deep, rows claiming another source's trace,
files read as a stream (stored in batches while read, progress by bytes, the same summary)."""

import json

import pytest

from forge import auth, import_jobs, jobs
from forge.store import traces as store
from forge.traces.files import BATCH, import_bytes, import_files

DEEP = 1000  # json.loads gives up near 990 levels


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _jsonl(*rows) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else json.dumps(r).encode() for r in rows)


GOOD = {"id": "good-1", "input": "q", "output": "a"}
LAST = {"id": "good-2", "input": "q", "output": "b"}


@pytest.mark.parametrize("where", ["input", "metadata", "model", "output-as-json-text"])
def test_a_row_nested_a_thousand_levels_deep_is_a_row_error_and_the_rest_is_kept(db, admin, default_ws, where):
    if where == "output-as-json-text":  # JSON text inside a string, which the importer parses too
        deep, field = json.dumps({"id": "deep", "input": "q", "output": _nested(DEEP)}).encode(), "output"
    elif where == "metadata":
        deep, field = f'{{"id": "deep", "input": "q", "output": "a", "metadata": {{"x": {_nested(DEEP)}}}}}', where
    else:
        deep, field = f'{{"id": "deep", "input": "q", "output": "a", "{where}": {_nested(DEEP)}}}', where
    data = _jsonl(GOOD, deep.encode() if isinstance(deep, str) else deep, LAST)
    s = import_bytes(auth.access(db, admin, default_ws.id), "deep.jsonl", data)
    assert (s["imported"], s["failed"]) == (2, 1)
    (err,) = s["errors"]
    assert (err["file"], err["line"], err["field"]) == ("deep.jsonl", 2, field)
    assert "nested more than" in err["message"]
    assert store.count_traces(auth.access(db, admin, default_ws.id)) == 2


def test_deep_items_of_a_json_array_and_deep_csv_cells_are_row_errors(db, admin, default_ws):
    access = auth.access(db, admin, default_ws.id)
    array = f'[{json.dumps(GOOD)},\n{{"id": "d", "input": {_nested(5000)}, "output": "a"}},\n{json.dumps(LAST)}]'
    s = import_bytes(access, "deep.json", array.encode())
    assert (s["imported"], s["failed"]) == (2, 1)
    assert (s["errors"][0]["line"], s["errors"][0]["field"]) == (2, "input")
    table = f'id,input,output\nc1,q,a\nc2,"{_nested(DEEP)}",a\nc3,q,b\n'
    s = import_bytes(access, "deep.csv", table.encode())
    assert (s["imported"], s["failed"]) == (2, 1)
    assert (s["errors"][0]["line"], s["errors"][0]["field"]) == (3, "input")


def test_rows_nested_as_deep_as_real_traces_still_import(db, admin, default_ws):
    row = {"id": "ok", "input": json.loads(_nested(150)), "output": "a", "metadata": {"a": json.loads(_nested(150))}}
    s = import_bytes(auth.access(db, admin, default_ws.id), "ok.jsonl", _jsonl(row))
    assert (s["imported"], s["failed"]) == (1, 0), s["errors"]


def test_the_web_import_of_a_deep_row_ends_with_its_row_error(db, admin, default_ws):
    data = _jsonl(GOOD, f'{{"id": "deep", "input": {_nested(DEEP)}, "output": "a"}}'.encode(), LAST)
    job = import_jobs.start_file_import(db, admin, default_ws.id, [("upload.jsonl", data)])
    job = jobs.wait(db, admin, default_ws.id, job.id)
    assert job.status == "done", job.error
    assert (job.result["imported"], job.result["failed"]) == (2, 1)
    assert [(e["line"], e["field"]) for e in job.result["errors"]] == [(2, "input")]


@pytest.mark.parametrize("claimed", ["playground", "langfuse"])
def test_a_file_row_cannot_overwrite_a_trace_of_another_source(db, admin, default_ws, claimed):
    access = auth.access(db, admin, default_ws.id)
    store.upsert_traces(access, [{"source": claimed, "source_id": "victim-1", "input": "real", "output": "real"}])
    victim = store.get_trace_by_source(access, claimed, "victim-1")
    spoof = {"source": claimed, "source_id": "victim-1", "input": "forged", "output": "forged", "tags": ["x"]}
    langfuse_export = {"trace": {"id": "victim-1", "name": "forged"}, "observations": []}
    s = import_bytes(access, "spoof.jsonl", _jsonl(spoof, langfuse_export))
    assert s["failed"] == 0
    after = store.get_trace_by_source(access, claimed, "victim-1")
    assert (after["input"], after["output"], after["updated_at"]) == ("real", "real", victim["updated_at"])
    mine = store.get_trace_by_source(access, "file", "victim-1")  # the file's own namespace
    assert mine["metadata"]["source"] in (claimed, "langfuse")
    assert {r[0] for r in db.fetchall("SELECT source FROM traces")} == {claimed, "file"}


def _rows(n: int, repeat_every: int = 0, pad: str = "") -> bytes:
    out = []
    for i in range(1, n + 1):
        rid = (i - repeat_every) if repeat_every and i > repeat_every else i
        out.append({"id": f"r{rid}", "input": f"question {i}{pad}", "output": f"answer {i}", "human_label": i % 2})
    return _jsonl(*out)


@pytest.mark.parametrize("kind", ["jsonl", "json-array"])
def test_a_file_is_stored_in_batches_while_it_is_read_with_progress_in_bytes(db, admin, default_ws, tmp_path, kind):
    access = auth.access(db, admin, default_ws.id)
    rows = _rows(3 * BATCH + 10, pad=" about" * 60)  # ~2.5 MB: more than the 1 MB an array reader reads ahead
    if kind == "json-array":
        path = tmp_path / "many.json"
        path.write_bytes(b"[\n" + rows.replace(b"\n", b",\n") + b"\n]\n")
    else:
        path = tmp_path / "many.jsonl"
        path.write_bytes(rows)
    size = path.stat().st_size
    seen = []  # (bytes read, total, traces already in the database)

    def progress(done, total, message):
        seen.append((done, total, store.count_traces(access), message))

    s = import_files(access, [path], progress=progress)
    assert (s["imported"], s["failed"]) == (3 * BATCH + 10, 0)
    assert all(total == size for _, total, _, _ in seen)
    reads = [done for done, _, _, _ in seen]
    assert reads == sorted(reads) and reads[-1] == size
    # traces were already stored while the file was still being read
    assert any(0 < stored and done < size for done, _, stored, _ in seen), seen
    assert "MB" in seen[0][3] and "rows" in seen[0][3]


def test_rows_repeated_across_batches_count_as_reading_the_file_whole_did(db, admin, default_ws):
    access = auth.access(db, admin, default_ws.id)
    n, back = BATCH + 500, BATCH  # rows BATCH+1.. repeat rows 1..500, in the next batch
    s = import_bytes(access, "repeats.jsonl", _rows(n, repeat_every=back), eval_set="Labels")
    assert (s["imported"], s["updated"], s["skipped"], s["failed"]) == (BATCH, 0, 500, 0)
    first = s["warnings"][0]
    assert first["line"] == BATCH + 1 and "same trace id r1 as repeats.jsonl line 1" in first["message"]
    assert store.count_traces(access) == BATCH
    t = store.get_trace_by_source(access, "file", "r1")
    assert t["input"] == f"question {BATCH + 1}"  # the later row is kept
    again = import_bytes(access, "repeats.jsonl", _rows(n, repeat_every=back), eval_set="Labels")
    assert (again["imported"], again["updated"], again["skipped"]) == (0, BATCH, 500)


def test_short_lines_keep_their_own_line_numbers_when_streamed(db, admin, default_ws):
    s = import_bytes(
        auth.access(db, admin, default_ws.id), "short.jsonl", b'1\n{}\n\n{"input": "q", "output": "a"}\n[]'
    )
    assert s["imported"] == 1
    assert [(e["line"], e["field"]) for e in s["errors"]] == [(1, "row"), (2, "output"), (5, "row")]


def test_a_json_array_broken_part_way_keeps_the_items_before_and_names_the_line(db, admin, default_ws):
    items = [json.dumps({"id": f"a{i}", "input": "q", "output": "a"}) for i in range(1, 6)]
    text = "[\n" + ",\n".join(items[:3]) + ",\n" + '{"id": "a4", "input": "q" "output": "a"},\n' + items[4] + "\n]"
    s = import_bytes(auth.access(db, admin, default_ws.id), "broken.json", text.encode())
    assert s["imported"] == 3
    (err,) = s["errors"]
    assert err["line"] == 5 and err["message"].startswith("invalid JSON: Expecting ',' delimiter: line 5 column 27")
