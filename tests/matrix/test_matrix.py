"""The matrix's rows, filters, paging, actions and exports on the known table."""

from __future__ import annotations

import io
from datetime import datetime

import pandas as pd
import pyarrow.parquet as pq
import pytest

from forge import matrix
from forge.store import matrix as matrix_store
from forge.store import traces as trace_store
from forge.store.access import PermissionDenied
from forge.traces.model import normalize_trace

# Contradictions per trace over alpha v2, beta v1, gamma v1 (see conftest): t2, t5, t6, t9 two; t1, t4 one.
ORDER = [9, 6, 5, 2, 4, 1, 8, 7, 3, 0]  # by contradictions, then errors, then newest


def rows(known, filters=None, **kw):
    cols = matrix.columns(known.access, known.eval_set_id)
    result = matrix.page(known.access, known.eval_set_id, cols, filters, **kw)
    return result, [known.trace_ids.index(r["trace_id"]) for r in result.rows]


def test_rows_sorted_by_contradictions_with_their_cells(known):
    result, order = rows(known, page_size=50)
    assert order == ORDER and result.total == 10
    first = result.rows[0]
    assert (first["label"], first["n_contradictions"], first["n_errors"]) == ("fail", 2, 1)
    cells = {c["version_id"]: c for c in result.cells if c["trace_id"] == first["trace_id"]}
    assert cells[known.versions["alpha v2"]]["status"] == "error"
    assert cells[known.versions["beta v1"]]["status"] == "contradiction"
    tie = result.rows[order.index(8)]
    assert tie["tie"] and tie["label"] is None
    t8_cells = [c["status"] for c in result.cells if c["trace_id"] == tie["trace_id"]]
    assert t8_cells == ["unrated"] * 3  # the verdict is still there, the trace has no label
    wide = matrix.pivot(result, matrix.columns(known.access, known.eval_set_id))
    assert list(wide.loc[0, ["alpha v2", "alpha v2 verdict"]]) == ["error", "error"]
    note_row = result.rows[order.index(2)]
    assert "clearly grounded" in note_row["note"] and note_row["raters"] == ["admin"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (matrix.MatrixFilters(cells="contradictions"), {9, 6, 5, 2, 4, 1}),
        (matrix.MatrixFilters(cells="errors"), {9}),
        (matrix.MatrixFilters(human="unrated"), {7, 8}),
        (matrix.MatrixFilters(human="fail"), {4, 5, 6, 9}),
        (matrix.MatrixFilters(rater="bob"), {0, 4, 8}),
        (matrix.MatrixFilters(start=datetime(2026, 1, 12), end=datetime(2026, 1, 14)), {5, 6}),
        (matrix.MatrixFilters(sources=("langfuse",)), {0, 1, 2, 3, 4}),
        (matrix.MatrixFilters(tags=("prod",)), {0, 2, 4, 6, 8}),
        (matrix.MatrixFilters(text="I DON'T know"), {4, 5}),
        (matrix.MatrixFilters(text="question 3"), {3}),
        (matrix.MatrixFilters(cells="contradictions", human="pass", sources=("langfuse",)), {1, 2}),
    ],
)
def test_filters(known, filters, expected):
    result, order = rows(known, filters)
    assert set(order) == expected and result.total == len(expected)


def test_paging_sends_only_the_page(known):
    result, order = rows(known, page_no=1, page_size=4)
    assert order == ORDER[:4] and result.pages == 3
    assert {c["trace_id"] for c in result.cells} == {r["trace_id"] for r in result.rows}
    _, order3 = rows(known, page_no=3, page_size=4)
    assert order3 == ORDER[8:]
    past, order4 = rows(known, page_no=4, page_size=4)
    assert order4 == [] and past.total == 10


def test_older_versions_on_request(known):
    assert [c["label"] for c in matrix.columns(known.access, known.eval_set_id)] == ["alpha v2", "beta v1", "gamma v1"]
    every = matrix.columns(known.access, known.eval_set_id, all_versions=True)
    assert [c["label"] for c in every] == ["alpha v2", "alpha v1", "beta v1", "gamma v1"]
    result = matrix.page(known.access, known.eval_set_id, every)
    old = [c for c in result.cells if c["version_id"] == known.versions["alpha v1"]]
    assert len(old) == 10 and all(c["verdict"] is True for c in old)


def test_rerate_turns_a_contradiction_into_agreement(known):
    t2 = known.trace_ids[2]  # labelled pass by admin; alpha and beta say fail
    before = {c["version_id"]: c["status"] for c in rows(known)[0].cells if c["trace_id"] == t2}
    assert before[known.versions["alpha v2"]] == "contradiction"
    matrix.rerate(known.access, known.eval_set_id, t2, "fail", "missed the invented date")
    result, _ = rows(known)
    after = {c["version_id"]: c["status"] for c in result.cells if c["trace_id"] == t2}
    assert after[known.versions["alpha v2"]] == "agree" and after[known.versions["gamma v1"]] == "contradiction"
    row = next(r for r in result.rows if r["trace_id"] == t2)
    assert row["label"] == "fail" and "missed the invented date" in row["note"]


def test_mark_label_wrong_flips_it_and_needs_edit(known, db, analyst, default_ws):
    from forge import auth

    t1 = known.trace_ids[1]  # labelled pass; beta says fail
    assert matrix.mark_label_wrong(known.access, known.eval_set_id, t1, "pass") == "fail"
    result, _ = rows(known)
    row = next(r for r in result.rows if r["trace_id"] == t1)
    assert row["label"] == "fail" and row["resolved"] and row["note"].startswith("label-wrong")
    statuses = {c["version_id"]: c["status"] for c in result.cells if c["trace_id"] == t1}
    assert statuses[known.versions["beta v1"]] == "agree"
    rater_only = auth.access(db, analyst, default_ws.id, "rate")
    if not rater_only.may("edit"):
        with pytest.raises(PermissionDenied):
            matrix.mark_label_wrong(rater_only, known.eval_set_id, t1, "fail")


def test_export_csv_and_parquet(known):
    cols = matrix.columns(known.access, known.eval_set_id)
    frame = matrix.export_frame(known.access, known.eval_set_id, cols)
    assert len(frame) == 10
    assert list(frame.columns[:5]) == ["trace_id", "human_rating", "human_note", "timestamp", "source"]
    t9 = frame.set_index("trace_id").loc[known.trace_ids[9]]
    assert (t9["human_rating"], t9["alpha v2"], t9["beta v1"]) == ("fail", "error", "pass")
    back = pd.read_csv(io.BytesIO(matrix.to_csv(frame)))
    assert back.shape == frame.shape
    table = pq.read_table(io.BytesIO(matrix.to_parquet(frame)))
    assert table.num_rows == 10 and "gamma v1" in table.column_names
    counts = matrix.cell_counts(frame, cols)
    assert counts == {"agree": 13, "contradiction": 10, "error": 1, "unrated": 6}


def test_cell_detail_and_version_code(known):
    detail = matrix_store.cell_detail(known.access, known.versions["alpha v2"], known.trace_ids[4])
    assert detail["verdict"] is False and detail["reason"] == "matched 'I don't know'"
    code = matrix_store.version_detail(known.access, known.versions["alpha v2"])
    assert matrix.decisive_lines(code["source"], detail["reason"]) == [2, 8]  # the pattern and the return quoting it
    assert matrix_store.cell_detail(known.access, known.versions["alpha v2"], "nope") is None


def test_refine_target():
    assert matrix.refine_target("es1", "ev1") == (
        "pages/generate.py",
        {"eval_set": "es1", "eval": "ev1", "refine": "1"},
    )


def test_queued_traces_are_rows_too(known, db):
    access = known.access
    extra = trace_store.upsert_traces(access, [normalize_trace({"id": "queued-1", "output": "waiting"})])["ids"][0]
    db.execute(  # the review page's queue (eval_set_traces) is the review issue's; written directly here
        "INSERT INTO eval_set_traces (eval_set_id, trace_id, workspace_id, added_at) VALUES (?, ?, ?, now())",
        [known.eval_set_id, extra, access.workspace_id],
    )
    cols = matrix.columns(access, known.eval_set_id)
    result = matrix.page(access, known.eval_set_id, cols, page_size=50)
    queued = next(r for r in result.rows if r["trace_id"] == extra)
    assert result.total == 11 and queued["label"] is None and queued["n_results"] == 0
