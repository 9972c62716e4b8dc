"""The Datasets page: an upload with bad rows keeps the valid ones and names each bad one; versions and roll back."""

from __future__ import annotations

from forge import auth
from forge.library import datasets

CSV = b"question,expected\nWhat is 2+2?,4\nCapital of France?,Paris,extra\n\nWho wrote Hamlet?,Shakespeare\n"


def test_upload_with_a_bad_row_saves_the_valid_ones(db, admin, default_ws, app_as):
    at = app_as("admin", page="pages/datasets.py")
    assert not at.exception
    assert any("No datasets yet" in i.value for i in at.info)
    at.file_uploader(key="datasets_upload").set_value(("quiz.csv", CSV, "text/csv"))
    at.run()
    assert not at.exception
    assert any("1 problem(s) on 1 row(s)" in w.value for w in at.warning)
    errors = at.dataframe[0].value
    assert list(errors["line"]) == [3] and "3 cells but the header has 2 columns" in errors["problem"].iloc[0]
    assert at.text_input(key="datasets_upload_name").value == "quiz"
    at.button(key="datasets_upload_save").click().run()
    assert not at.exception
    assert any("Saved quiz v1 (2 rows)" in s.value for s in at.success)
    acc = auth.access(db, admin, default_ws.id)
    saved = datasets.open_dataset(acc, "quiz")
    assert [r.vars["question"] for r in saved.rows] == ["What is 2+2?", "Who wrote Hamlet?"]
    assert [r.expected for r in saved.rows] == ["4", "Shakespeare"]


def test_versions_and_roll_back(db, admin, default_ws, app_as):
    acc = auth.access(db, admin, default_ws.id, "edit")
    datasets.save(acc, "quiz", datasets.parse_upload("a.csv", b"question\none\n"))
    datasets.save(acc, "quiz", datasets.parse_upload("a.csv", b"question\none\ntwo\n"))
    at = app_as("admin", page="pages/datasets.py")
    assert at.selectbox(key="datasets_pick").value == "quiz"
    at.selectbox(key="datasets_version_quiz").set_value(1).run()
    assert not at.exception
    assert list(at.dataframe[0].value["question"]) == ["one"]
    at.button(key="datasets_rollback").click().run()
    assert not at.exception
    assert any("Rolled back: quiz v3" in s.value for s in at.success)
    assert [r.vars["question"] for r in datasets.open_dataset(acc, "quiz").rows] == ["one"]


def test_dataset_from_imported_traces(db, admin, default_ws, app_as):
    from forge.store.traces import upsert_traces

    acc = auth.access(db, admin, default_ws.id, "edit")
    upsert_traces(
        acc,
        [
            {"source_id": f"s{i}", "input": f"refund question {i}", "output": f"answer {i}"}
            | {"input_text": f"refund question {i}", "output_text": f"answer {i}"}
            for i in range(3)
        ]
        + [{"source_id": "other", "input": "hello", "output": "hi", "input_text": "hello", "output_text": "hi"}],
    )
    at = app_as("admin", page="pages/datasets.py")
    at.text_input(key="datasets_tr_text").input("refund").run()
    assert any("3 trace(s) match" in c.value for c in at.caption)
    at.selectbox(key="datasets_tr_expected").set_value("output_text").run()
    at.text_input(key="datasets_tr_name").input("refunds").run()
    at.button(key="datasets_tr_save").click().run()
    assert not at.exception
    saved = datasets.open_dataset(acc, "refunds")
    assert sorted((r.vars["question"], r.expected) for r in saved.rows) == [
        (f"refund question {i}", f"answer {i}") for i in range(3)
    ]
    assert saved.source == "traces"
