"""Datasets: uploads with bad rows named by line and column, grids, traces, versions and roll back."""

from __future__ import annotations

import pytest

from forge import auth
from forge.library import datasets
from forge.store.traces import upsert_traces

CSV = b"""question,tone,expected,notes
What is 2+2?,plain,4,easy
Capital of France?,formal
Too,many,cells,here,extra
,plain,empty question is fine,
Third?,friendly,3,
"""


def test_csv_upload_keeps_valid_rows_and_names_each_bad_one():
    parsed = datasets.parse_upload("qs.csv", CSV)
    assert parsed.columns == ["question", "tone"]
    assert [r.vars["question"] for r in parsed.rows] == ["What is 2+2?", "", "Third?"]
    assert parsed.rows[0].expected == "4" and parsed.rows[0].notes == "easy"
    # line 3 lacks the expected/notes cells, line 4 has too many
    assert [(e.line, e.column) for e in parsed.errors] == [(3, "expected"), (4, None)]
    assert "5 cells" in parsed.errors[1].message


def test_jsonl_upload_names_line_and_column():
    data = b"\n".join(
        [
            b'{"question": "a", "n": 1, "expected": "x"}',
            b"not json",
            b'{"question": "b"}',
            b'{"question": {"nested": 1}, "n": 2}',
            b'{"question": "c", "n": 3, "colour": "red"}',
            b"[1, 2]",
            b'{"question": "d", "n": true}',
        ]
    )
    parsed = datasets.parse_upload("rows.jsonl", data)
    assert parsed.columns == ["question", "n"]
    assert [r.vars for r in parsed.rows] == [{"question": "a", "n": "1"}, {"question": "d", "n": "true"}]
    where = [(e.line, e.column) for e in parsed.errors]
    assert where == [(2, None), (3, "n"), (4, "question"), (5, "colour"), (6, None)]
    assert str(parsed.errors[1]) == "line 3, n: missing value"


def test_unusable_file_is_refused_with_its_name():
    with pytest.raises(datasets.DatasetError, match="big.csv: larger than 20 MB"):
        datasets.parse_upload("big.csv", b"a\n" + b"x\n" * 10_500_000)
    with pytest.raises(datasets.DatasetError, match="line 1.*not a template variable"):
        raise datasets.DatasetError(str(datasets.parse_upload("h.csv", b"1bad,ok\nx,y\n").errors[0]))


def test_versions_roll_back_and_authors(acc):
    v1 = datasets.save(acc, "qa", datasets.parse_upload("qs.csv", CSV))
    assert (v1.version, v1.author, len(v1.rows)) == (1, "ana", 3)
    same = datasets.save(acc, "qa", datasets.parse_upload("qs.csv", CSV))
    assert same.version == 1  # nothing changed: no new version
    grid = datasets.from_records([{"question": "Only one?", "tone": "x", "expected": None}, {}], ["question", "tone"])
    v2 = datasets.save(acc, "qa", grid)
    assert v2.version == 2 and [r.vars["question"] for r in v2.rows] == ["Only one?"]
    back = datasets.roll_back(acc, "qa", 1)
    assert back.version == 3 and back.rows == v1.rows and back.note == "roll back to v1"
    assert [v["version"] for v in datasets.versions(acc, "qa")] == [3, 2, 1]
    assert datasets.open_dataset(acc, "qa", 2).rows == v2.rows
    listed = datasets.list_datasets(acc)
    assert [(d["name"], d["current_version"], d["n_rows"]) for d in listed] == [("qa", 3, 3)]
    with pytest.raises(LookupError, match="no dataset named 'nope'.*'qa'"):
        datasets.open_dataset(acc, "nope")
    with pytest.raises(LookupError, match="no version 9"):
        datasets.open_dataset(acc, "qa", 9)


def test_nothing_valid_is_not_saved(acc):
    parsed = datasets.parse_upload("bad.jsonl", b'{"q": "a"}\n{"x": 1}\n')
    parsed.rows.clear()
    with pytest.raises(datasets.DatasetError, match="no valid row"):
        datasets.save(acc, "empty", parsed)
    assert datasets.list_datasets(acc) == []


def test_viewer_cannot_save(viewer_acc):
    with pytest.raises(auth.PermissionDenied):
        datasets.save(viewer_acc, "qa", datasets.parse_upload("qs.csv", CSV))


def test_from_traces_maps_fields_to_variables(acc):
    ids = upsert_traces(
        acc,
        [
            {"source_id": "a", "input": {"q": "hello?"}, "output": "hi", "input_text": "hello?", "output_text": "hi"},
            {"source_id": "b", "input": "plain", "output": "yo", "input_text": "plain", "output_text": "yo"},
        ],
    )["ids"]
    parsed = datasets.from_traces(acc, ids, {"question": "input_text"}, expected="output_text")
    assert [(r.vars, r.expected) for r in parsed.rows] == [
        ({"question": "hello?"}, "hi"),
        ({"question": "plain"}, "yo"),
    ]
    by_key = datasets.from_traces(acc, ids, {"q": "input.q"})
    assert [r.vars for r in by_key.rows] == [{"q": "hello?"}]
    assert [(e.line, e.column) for e in by_key.errors] == [(2, "q")]
    saved = datasets.save(acc, "from traces", parsed)
    assert saved.source == "traces"
