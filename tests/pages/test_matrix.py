"""The matrix page (AppTest): empty state, filters, paging, and a drill-down re-rate that turns a ✗ into a ✓."""

from __future__ import annotations

from forge import auth
from forge.store import ratings as rating_store
from forge.store import traces as trace_store
from forge.traces.model import normalize_trace
from tests.matrix.conftest import build_known

PAGE = "pages/matrix.py"


def caption_with(at, text: str) -> str:
    return next(c.value for c in at.caption if text in c.value)


def test_without_an_eval_set_the_page_says_what_to_do(app_as):
    at = app_as("admin", page=PAGE)
    assert not at.exception
    assert any("No eval set yet" in i.value for i in at.info)


def test_filters_and_paging(db, admin, default_ws, app_as):
    known = build_known(db, admin, default_ws.id)
    # 30 more rated traces with no eval results: 40 rows, two pages of 25
    access = auth.access(db, admin, default_ws.id, "edit")
    ids = trace_store.upsert_traces(
        access, [normalize_trace({"id": f"extra-{i}", "output": f"more {i}"}) for i in range(30)]
    )["ids"]
    rating_store.upsert_ratings(
        access, known.eval_set_id, [{"trace_id": t, "rater": "bob", "value": "pass", "note": None} for t in ids]
    )
    at = app_as("admin", page=PAGE)
    assert not at.exception
    assert "Traces 1–40 of 40" in caption_with(at, "Traces ")
    at.selectbox(key="matrix_page_size").set_value(25).run()
    assert "Traces 1–25 of 40" in caption_with(at, "Traces ")
    table = at.dataframe[0].value
    assert list(table["✗"][:4]) == [2, 2, 2, 2]  # most contradictions first
    assert table.loc[0, "alpha v2"] == "! error"
    at.button(key="matrix_next").click().run()
    assert "Traces 26–40 of 40" in caption_with(at, "Traces ")

    at.segmented_control(key="matrix_cells").set_value("contradictions").run()
    assert "Traces 1–6 of 6" in caption_with(at, "Traces ")  # a filter starts again at page 1
    at.selectbox(key="matrix_human").set_value("pass").run()
    assert "of 2" in caption_with(at, "Traces ")
    at.segmented_control(key="matrix_cells").set_value(None).run()
    at.selectbox(key="matrix_human").set_value(None).run()
    at.text_input(key="matrix_text").input("I don't know").run()
    assert "Traces 1–2 of 2" in caption_with(at, "Traces ")
    at.text_input(key="matrix_text").input("").run()
    at.selectbox(key="matrix_rater").set_value("admin").run()
    assert "of 9" in caption_with(at, "Traces ")  # admin rated t0-t6, t8, t9
    at.multiselect(key="matrix_evals").set_value(["gamma v1"]).run()
    assert "gamma v1" in at.dataframe[0].value.columns and "beta v1" not in at.dataframe[0].value.columns
    assert not at.exception


def test_drill_down_explains_and_rerate_turns_the_cell_to_agree(db, admin, default_ws, app_as):
    known = build_known(db, admin, default_ws.id)
    t2 = known.trace_ids[2]  # admin labelled it pass; alpha v2 says fail: a contradiction
    at = app_as("admin", page=PAGE)
    at.selectbox(key="matrix_pick_trace").set_value(t2).run()
    at.selectbox(key="matrix_pick_eval").set_value(known.versions["alpha v2"]).run()
    assert not at.exception
    page = " ".join(m.value for m in at.markdown)
    assert "contradicts the human" in page and "matched 'I don't know'" in page
    code = next(c for c in at.code if "def evaluate" in c.value)
    assert "REFUSAL = re.compile" in code.value and "# ◀ decided this verdict" in code.value
    row = at.dataframe[0].value
    t2_row = row[row["Trace"] == "question 2"].iloc[0]
    assert t2_row["alpha v2"] == "✗ fail"

    at.segmented_control(key=f"matrix_rerate_value_{t2}").set_value("fail").run()
    at.text_input(key=f"matrix_rerate_note_{t2}").input("invents a date").run()
    at.button(key="matrix_rerate_save").click().run()
    assert not at.exception
    assert any("matrix is updated" in s.value for s in at.success)
    row = at.dataframe[0].value
    t2_row = row[row["Trace"] == "question 2"].iloc[0]
    assert t2_row["alpha v2"] == "✓ fail" and t2_row["gamma v1"] == "✗ pass"
    assert "invents a date" in t2_row["Note"]


def test_mark_label_wrong_and_statistics_tab(db, admin, default_ws, app_as):
    known = build_known(db, admin, default_ws.id)
    at = app_as("admin", page=PAGE)
    at.selectbox(key="matrix_pick_trace").set_value(known.trace_ids[1]).run()
    at.button(key="matrix_label_wrong").click().run()
    assert not at.exception
    assert any("Label marked wrong: now fail" in s.value for s in at.success)
    stats = next(d.value for d in at.dataframe if "Kappa" in d.value.columns)
    assert list(stats["Eval"])[-1] == "Humans vs humans (ceiling)"
    assert any("Minimal eval set" in s.value for s in at.success)
    assert len(at.get("vega_lite_chart")) >= 3  # confusion matrices, eval-vs-eval heatmap, weekly lines


def test_push_to_langfuse_from_the_page(db, admin, default_ws, app_as, monkeypatch):
    from tests.stubs.langfuse_stub import LangfuseStub

    build_known(db, admin, default_ws.id)
    with LangfuseStub([], public_key="pk-lf-page-push") as stub:
        for k, v in stub.env().items():
            monkeypatch.setenv(k, v)
        at = app_as("admin", page=PAGE)
        at.button(key="matrix_push").click().run()
        assert not at.exception
        assert any("Pushed 20, skipped 20, failed 0" in s.value for s in at.success)
        assert len(stub.pushed_scores) == 20


def test_a_viewer_sees_the_matrix_but_cannot_act(db, admin, default_ws, app_as):
    from tests.conftest import PASSWORD

    build_known(db, admin, default_ws.id)
    auth.create_user(db, admin, "vera", PASSWORD, "viewer", "Vera Viewer")
    auth.add_member(db, admin, default_ws.id, "vera")
    at = app_as("vera", page=PAGE)
    assert not at.exception
    assert "Traces 1–10 of 10" in caption_with(at, "Traces ")
    keys = {b.key for b in at.button}
    assert "matrix_rerate_save" not in keys and "matrix_label_wrong" not in keys
    assert any("Your role cannot rate." in c.value for c in at.caption)
