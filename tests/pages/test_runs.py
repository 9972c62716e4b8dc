"""Runs page (AppTest): list, filter, compare two, re-run."""

from __future__ import annotations

from forge import auth
from forge.llm.playground import run_prompt
from forge.llm.prompts import PromptSpec
from forge.store import runs

PAGE = "pages/runs.py"


def _seed(db, admin, ws):
    run_prompt(
        auth.access(db, admin, ws.id), ["offline/echo", "nosuch/model"], PromptSpec("Describe {{x}}", {"x": "rain"})
    )
    run_prompt(auth.access(db, admin, ws.id), ["offline/slow"], PromptSpec("Write a haiku", system="Be poetic"))


def test_list_filter_compare_rerun(app_as, db, admin, default_ws):
    _seed(db, admin, default_ws)
    at = app_as("admin", page=PAGE)
    assert not at.exception
    listed = at.dataframe[0].value
    assert sorted(listed["model"]) == ["nosuch/model", "offline/echo", "offline/slow"]

    at.checkbox(key="runs_errors").check()
    at.run()
    assert list(at.dataframe[0].value["model"]) == ["nosuch/model"]
    at.checkbox(key="runs_errors").uncheck()
    at.text_input(key="runs_text").input("haiku")
    at.run()
    assert list(at.dataframe[0].value["model"]) == ["offline/slow"]
    at.text_input(key="runs_text").input("")
    at.run()

    ids = {r["model"]: r["id"] for r in runs.list_runs(auth.access(db, admin, default_ws.id))}
    at.segmented_control(key="runs_mode").set_value("Two runs").run()
    at.selectbox(key="runs_a").set_value(ids["offline/echo"])
    at.selectbox(key="runs_b").set_value(ids["offline/slow"])
    at.run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert "Describe rain" in texts and "Write a haiku" in texts and "Be poetic" in texts
    assert sum(t.startswith("[offline model") for t in texts) == 2

    at.selectbox(key="runs_rerun_pick").set_value(ids["offline/echo"])
    at.button(key="runs_rerun").click()
    at.run()
    assert not at.exception
    echo_runs = runs.list_runs(auth.access(db, admin, default_ws.id), model="offline/echo")
    assert len(echo_runs) == 2 and echo_runs[0]["batch_id"] != echo_runs[1]["batch_id"]
    assert len(at.dataframe[0].value) == 4
    # The re-run's message survives the page's rerun.
    assert any("Re-ran offline/echo: ok" in s.value for s in at.success)


def test_errors_are_in_the_first_columns(app_as, db, admin, default_ws):
    _seed(db, admin, default_ws)
    at = app_as("admin", page=PAGE)
    table = at.dataframe[0].value
    assert list(table.columns)[:3] == ["time (UTC)", "model", "error"]
    assert any("nosuch" in e for e in table["error"])


def test_compare_one_run_with_itself_says_pick_two(app_as, db, admin, default_ws):
    _seed(db, admin, default_ws)
    at = app_as("admin", page=PAGE)
    at.segmented_control(key="runs_mode").set_value("Two runs").run()
    first = at.selectbox(key="runs_a").value
    at.selectbox(key="runs_b").set_value(first).run()
    assert not at.exception
    assert any("same run" in i.value for i in at.info)
    assert not any(c.value == "Prompt as sent" for c in at.caption)  # not shown twice, not at all


def test_only_one_run_cannot_be_compared_with_another(app_as, db, admin, default_ws):
    run_prompt(auth.access(db, admin, default_ws.id), ["offline/echo"], PromptSpec("Just one"))
    at = app_as("admin", page=PAGE)
    at.segmented_control(key="runs_mode").set_value("Two runs").run()
    assert any("comparing needs two" in i.value for i in at.info)
    assert not any(c.value == "Prompt as sent" for c in at.caption)


def test_a_batch_shows_its_models_side_by_side(app_as, db, admin, default_ws):
    _seed(db, admin, default_ws)
    at = app_as("admin", page=PAGE)
    batch = at.selectbox(key="runs_batch")
    assert len(batch.options) == 2  # two submissions
    first_seed = next(o for o in batch.options if "2 models" in o and "1 failed" in o)
    batch.set_value(
        next(b for b in runs.list_runs(auth.access(db, admin, default_ws.id)) if b["model"] == "offline/echo")[
            "batch_id"
        ]
    )
    at.run()
    assert not at.exception
    shown = [m.value for m in at.markdown if m.value.startswith("**")]
    assert any("offline/echo" in m for m in shown) and any("nosuch/model" in m for m in shown)
    assert sum(t.value == "Describe rain" for t in at.text) == 2  # both models, one prompt
    assert first_seed


def test_empty_and_viewer(app_as, db, admin, default_ws):
    from forge import auth
    from tests.conftest import PASSWORD

    at = app_as("admin", page=PAGE)
    assert any("No runs yet" in i.value for i in at.info)
    _seed(db, admin, default_ws)
    auth.create_user(db, admin, "vic", PASSWORD, "viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    at = app_as("vic", page=PAGE)
    assert not at.exception and len(at.dataframe[0].value) == 3
    assert not [b for b in at.button if b.key == "runs_rerun"]  # viewers may look, not run
