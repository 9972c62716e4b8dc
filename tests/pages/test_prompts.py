"""Prompts page and the Playground's library controls (AppTest): save, version, diff, roll back, open, run."""

from __future__ import annotations

import re

from forge import auth
from forge.library import contexts, prompts
from forge.llm.prompts import PromptSpec
from forge.store import runs

PLAYGROUND = "pages/playground.py"
PROMPTS = "pages/prompts.py"


def _texts(at, kind):
    """The texts as shown: markdown's backslash escapes (md() of user text) render as the bare character."""
    return [re.sub(r"\\(.)", r"\1", str(e.value)) for e in getattr(at, kind)]


def _table(at, column):
    """The table (dataframe) that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _open(at, name, version=None):
    """Open a saved prompt with the Playground's "Open a saved prompt" picker."""
    at.selectbox(key="pg_open_name").set_value(name)
    at.run()
    if version is not None:
        at.selectbox(key="pg_open_version").set_value(version)
        at.run()
    at.button(key="pg_open").click()
    at.run()
    assert not at.exception, at.exception


def _save(at, name=None):
    if name is not None:
        at.text_input(key="pg_prompt_name").input(name)
    at.button(key="pg_save").click()
    at.run()
    assert not at.exception, at.exception


def test_save_change_unchanged_diff_rollback_open_and_run(app_as, db, admin, default_ws):
    acc = auth.access(db, admin, default_ws.id)
    at = app_as("admin", page=PLAYGROUND)
    at.text_area(key="pg_system").input("Be brief.")
    at.text_area(key="pg_prompt").input("Summarise {{doc}}")
    at.number_input(key="pg_temp").set_value(0.2)
    at.run()
    _save(at, "summary")
    assert "Saved summary v1." in _texts(at, "success")

    at.text_area(key="pg_system").input("Be very brief.")
    at.number_input(key="pg_temp").set_value(0.7)
    at.run()
    assert any("Changed since summary v1" in c for c in _texts(at, "caption"))
    _save(at)
    assert "Saved summary v2." in _texts(at, "success")
    _save(at)  # nothing changed
    assert "No change since summary v2: no new version saved." in _texts(at, "info")
    assert [v.version for v in prompts.versions(acc, "summary")] == [1, 2]
    assert prompts.get_version(acc, "summary").author == "admin"

    at.switch_page(PROMPTS)
    at.run()
    assert not at.exception, at.exception
    table = _table(at, "latest")
    assert list(table["prompt"]) == ["summary"] and list(table["latest"]) == ["v2"]
    diff = "\n".join(c.value for c in at.code if c.language == "diff")
    assert "-Be brief." in diff and "+Be very brief." in diff
    changes = _table(at, "what")
    assert (
        list(changes["what"]) == ["temperature"] and list(changes["v1"]) == ["0.2"] and list(changes["v2"]) == ["0.7"]
    )

    at.selectbox(key="prompts_version").set_value(1)
    at.run()
    at.button(key="prompts_rollback").click()
    at.run()
    assert not at.exception, at.exception
    assert "Rolled back: summary v3 is now equal to v1." in _texts(at, "success")
    v1, v3 = prompts.get_version(acc, "summary", 1), prompts.get_version(acc, "summary", 3)
    assert (v3.system, v3.template, v3.params) == (v1.system, v1.template, v1.params)
    at.selectbox(key="prompts_from").set_value(1)
    at.selectbox(key="prompts_to").set_value(3)
    at.run()
    assert "v1 and v3 have the same content." in _texts(at, "info")

    at.selectbox(key="prompts_version").set_value(2)
    at.run()
    at.button(key="prompts_open").click()
    at.run()
    assert not at.exception, at.exception
    assert at.text_area(key="pg_system").value == "Be very brief."
    assert at.text_area(key="pg_prompt").value == "Summarise {{doc}}"
    assert at.number_input(key="pg_temp").value == 0.7
    assert at.text_input(key="pg_prompt_name").value == "summary"
    assert "Opened summary v2." in _texts(at, "info")
    at.switch_page(PLAYGROUND)  # AppTest reruns the page it was last told; a browser follows st.switch_page

    at.multiselect(key="pg_models").set_value(["offline/echo"])
    at.text_input(key="pg_var_doc").input("the report")
    at.run()
    assert any("runs are recorded as this version" in c for c in _texts(at, "caption")), _texts(at, "caption")
    at.button(key="pg_run").click()
    at.run()
    assert not at.exception, at.exception
    (run,) = runs.list_runs(acc)
    assert run["prompt_version_id"] == prompts.get_version(acc, "summary", 2).id

    at.switch_page("pages/runs.py")
    at.run()
    assert not at.exception, at.exception
    assert list(_table(at, "prompt version")["prompt version"]) == ["summary v2"]
    assert any("Saved prompt: summary v2" in c for c in _texts(at, "caption"))


def test_a_changed_prompt_runs_without_a_version(app_as, db, admin, default_ws):
    acc = auth.access(db, admin, default_ws.id, "edit")
    prompts.save(acc, "hello", PromptSpec(template="Say hello"), ["offline/echo"])
    at = app_as("admin", page=PLAYGROUND)
    _open(at, "hello")
    assert at.multiselect(key="pg_models").value == ["offline/echo"]
    at.text_area(key="pg_prompt").input("Say hello twice")
    at.run()
    at.button(key="pg_run").click()
    at.run()
    (run,) = runs.list_runs(acc)
    assert run["prompt_version_id"] is None and run["prompt_template"] == "Say hello twice"


def test_playground_opens_a_version_and_adds_library_documents(app_as, db, admin, default_ws):
    acc = auth.access(db, admin, default_ws.id, "edit")
    doc = contexts.add_text(acc, "Tone guide", "Be warm and brief.", tags="style")
    contexts.add_text(acc, "Pricing", "Pro costs 30 dollars.")
    prompts.save(acc, "greet", PromptSpec(template="Greet {{name}}", system="v1 system"), ["offline/echo"], [doc.id])
    prompts.save(acc, "greet", PromptSpec(template="Greet {{name}} warmly"), ["offline/echo"])
    at = app_as("admin", page=PLAYGROUND)
    _open(at, "greet", 1)
    assert at.text_area(key="pg_prompt").value == "Greet {{name}}"
    assert at.text_area(key="pg_system").value == "v1 system"
    assert at.multiselect(key="pg_lib_docs").value == [doc.id]

    # Add another library document: the prompt is now changed, and runs with both documents.
    pricing = contexts.by_name(acc, "Pricing")
    at.multiselect(key="pg_lib_docs").set_value([doc.id, pricing.id])
    at.text_input(key="pg_var_name").input("Ann")
    at.run()
    assert any("Changed since greet v1" in c for c in _texts(at, "caption"))
    at.button(key="pg_run").click()
    at.run()
    (run,) = runs.list_runs(acc)
    stored = runs.get_run(acc, run["id"])
    assert "Be warm and brief." in stored["prompt"] and "Pro costs 30 dollars." in stored["prompt"]
    assert stored["prompt_version_id"] is None
    _save(at)
    v3 = prompts.get_version(acc, "greet")
    assert v3.version == 3 and v3.context_ids == [doc.id, pricing.id]


def test_typed_and_file_context_are_saved_and_come_back_on_open(app_as, db, admin, default_ws):
    acc = auth.access(db, admin, default_ws.id)
    at = app_as("admin", page=PLAYGROUND)
    at.multiselect(key="pg_models").set_value(["offline/echo"])
    at.text_area(key="pg_prompt").input("Answer from the context")
    at.text_area(key="pg_context").input("Typed facts.")
    at.file_uploader(key="pg_files").set_value(("facts.md", b"# Facts\nFrom a file.", "text/markdown"))
    at.run()
    _save(at, "ctx")
    pv = prompts.get_version(acc, "ctx")
    assert [(b.name, b.text) for b in prompts.context_blocks(acc, pv)] == [
        ("typed", "Typed facts."),
        ("facts.md", "# Facts\nFrom a file."),
    ]

    fresh = app_as("admin", page=PLAYGROUND)  # another session: nothing typed, no file
    _open(fresh, "ctx")
    assert fresh.text_area(key="pg_context").value == "Typed facts."
    assert fresh.multiselect(key="pg_saved_keep").value == ["facts.md"]
    assert any("runs are recorded as this version" in c for c in _texts(fresh, "caption"))
    fresh.button(key="pg_run").click()
    fresh.run()
    (run,) = runs.list_runs(acc)
    stored = runs.get_run(acc, run["id"])
    assert stored["prompt_version_id"] == pv.id and "From a file." in stored["prompt"]


def test_switching_to_a_prompt_with_fewer_versions(app_as, db, admin, default_ws):
    acc = auth.access(db, admin, default_ws.id, "edit")
    for text in ("a", "b", "c"):
        prompts.save(acc, "long", PromptSpec(template=text), [])
    prompts.save(acc, "short", PromptSpec(template="only"), [])
    at = app_as("admin", page=PROMPTS)
    at.selectbox(key="prompts_pick").set_value("long")
    at.run()
    at.selectbox(key="prompts_version").set_value(3)
    at.run()
    at.selectbox(key="prompts_pick").set_value("short")
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="prompts_version").value == 1
    assert any(c.value == "only" for c in at.code)
    assert "Roll back to v1" not in [b.label for b in at.button]  # v1 is the latest of "short"
