"""Migration 0011 and the library's rows: old runs keep working, a deleted workspace takes its library along."""

from __future__ import annotations

from datetime import datetime

import duckdb

from forge import auth
from forge.library import contexts, prompts
from forge.llm.prompts import PromptSpec
from forge.store import migrations
from forge.store import runs as run_store


def test_runs_from_before_0011_have_no_prompt_version(tmp_path):
    conn = duckdb.connect(str(tmp_path / "old.duckdb"))
    shipped = migrations.available()
    migrations.apply(conn, [m for m in shipped if m[0] < "0011"])
    conn.execute(
        "INSERT INTO runs (id, workspace_id, batch_id, created_at, model, provider, prompt_template, prompt)"
        " VALUES ('r1', 'w', 'b', ?, 'offline/echo', 'offline', 'hi', 'hi')",
        [datetime(2026, 5, 1)],
    )
    assert "0011_prompt_library" in migrations.apply(conn, shipped)
    assert conn.execute("SELECT id, prompt_version_id FROM runs").fetchall() == [("r1", None)]
    assert migrations.apply(conn, shipped) == []  # a second pass applies nothing


def test_deleting_a_workspace_deletes_its_prompts_and_documents(db, admin):
    ws = auth.create_workspace(db, admin, "scratch")
    keep = auth.resolve_workspace(db, admin)
    acc = auth.access(db, admin, ws.id, "edit")
    other = auth.access(db, admin, keep.id, "edit")
    doc = contexts.add_text(acc, "Tone", "Be warm.")
    prompts.save(acc, "p", PromptSpec(template="hi"), ["offline/echo"], [doc.id])
    prompts.save(acc, "p", PromptSpec(template="hi there"), ["offline/echo"])
    prompts.save(other, "kept", PromptSpec(template="hi"), [])
    deleted = auth.delete_workspace(db, admin, ws.id, "scratch")
    assert (deleted["prompts"], deleted["prompt_versions"], deleted["context_docs"]) == (1, 2, 1)
    assert [p["name"] for p in prompts.list_prompts(other)] == ["kept"]


def test_list_runs_shows_the_version_label(acc):
    from forge.llm.playground import run_prompt

    pv, _ = prompts.save(acc, "greeting", PromptSpec(template="Say hi"), ["offline/echo"])
    run_prompt(acc, ["offline/echo"], pv.spec({}), prompt_version_id=pv.id)
    run_prompt(acc, ["offline/echo"], PromptSpec(template="unsaved"))
    labels = {r["prompt_template"]: r["prompt_version"] for r in run_store.list_runs(acc)}
    assert labels == {"Say hi": "greeting v1", "unsaved": None}


def test_a_rerun_of_a_saved_prompt_run_keeps_its_version(acc):
    from forge.llm.playground import rerun, run_prompt

    pv, _ = prompts.save(acc, "greeting", PromptSpec(template="Say hi to {{who}}"), ["offline/echo"])
    first = run_prompt(acc, ["offline/echo"], pv.spec({"who": "Ann"}), prompt_version_id=pv.id)
    again = rerun(acc, first.run_ids[0])
    assert run_store.get_run(acc, again.run_ids[0])["prompt_version_id"] == pv.id
