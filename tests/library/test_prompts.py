"""Saved prompts: versions on change only, diff, roll back, pinned context, runs that record their version."""

from __future__ import annotations

import pytest

from forge.library import contexts, prompts
from forge.llm.playground import run_prompt
from forge.llm.prompts import ContextBlock, PromptSpec
from forge.store import runs as run_store
from forge.store.access import PermissionDenied


def _spec(template="Summarise {{doc}} for {{audience}}", system="Be brief.", temperature=0.2, **kw):
    return PromptSpec(template=template, system=system, temperature=temperature, max_tokens=200, **kw)


def test_save_change_save_unchanged_rollback(acc):
    v1, new1 = prompts.save(acc, "summary", _spec(), ["offline/echo"])
    assert (v1.version, new1, v1.author) == (1, True, "ana")
    v2, new2 = prompts.save(acc, "summary", _spec(system="Be very brief.", temperature=0.7), ["offline/echo"])
    assert (v2.version, new2) == (2, True)
    again, new3 = prompts.save(acc, "summary", _spec(system="Be very brief.", temperature=0.7), ["offline/echo"])
    assert (again.version, new3, again.id) == (2, False, v2.id)
    assert [v.version for v in prompts.versions(acc, "summary")] == [1, 2]

    d = prompts.diff(v1, v2)
    assert "-Be brief." in d.system and "+Be very brief." in d.system
    assert d.template == []
    assert ("temperature", 0.2, 0.7) in d.params

    v3, created = prompts.rollback(acc, "summary", 1)
    assert created and v3.version == 3 and v3.note == "roll back to v1"
    assert (v3.system, v3.template, v3.params, v3.models) == (v1.system, v1.template, v1.params, v1.models)
    assert prompts.diff(v1, v3).unchanged
    assert prompts.get_version(acc, "summary").id == v3.id
    assert prompts.get_version(acc, "summary", 2).system == "Be very brief."
    listed = prompts.list_prompts(acc)
    assert listed[0]["name"] == "summary" and listed[0]["version"] == 3 and listed[0]["author"] == "ana"


def test_models_change_is_a_new_version_and_shows_in_the_diff(acc):
    v1, _ = prompts.save(acc, "p", _spec(), ["offline/echo"])
    v2, created = prompts.save(acc, "p", _spec(), ["offline/echo", "openai/gpt-4o-mini"])
    assert created and prompts.diff(v1, v2).models_added == ["openai/gpt-4o-mini"]


def test_missing_prompt_and_version_are_named(acc):
    with pytest.raises(LookupError, match="No prompt called 'nope'"):
        prompts.get_version(acc, "nope")
    prompts.save(acc, "p", _spec(), [])
    with pytest.raises(LookupError, match="'p' has no version 7"):
        prompts.get_version(acc, "p", 7)


def test_empty_name_or_template_refused(acc):
    with pytest.raises(ValueError, match="name"):
        prompts.save(acc, "  ", _spec(), [])
    with pytest.raises(ValueError, match="empty"):
        prompts.save(acc, "p", _spec(template="  "), [])


def test_viewer_cannot_save_but_can_read(acc, viewer_acc):
    prompts.save(acc, "p", _spec(), [])
    with pytest.raises(PermissionDenied):
        prompts.save(viewer_acc, "p", _spec(system="x"), [])
    assert prompts.get_version(viewer_acc, "p").version == 1


def test_prompts_are_per_workspace(db, admin, acc, outsider):
    from forge import auth

    prompts.save(acc, "p", _spec(), [])
    other = auth.resolve_access(db, outsider, "otto-space", "edit")
    assert prompts.list_prompts(other) == []
    with pytest.raises(LookupError):
        prompts.get_version(other, "p")


def test_document_edit_does_not_change_an_old_version(acc):
    doc = contexts.add_text(acc, "style guide", "Use short sentences.", tags="style")
    v1, _ = prompts.save(acc, "p", _spec(), ["offline/echo"], [doc.id])
    contexts.update(acc, doc.id, text="Use long, flowing sentences.")
    assert prompts.context_blocks(acc, prompts.get_version(acc, "p", 1)) == [
        ContextBlock("style guide", "Use short sentences.")
    ]
    assert prompts.changed_documents(acc, v1) == ["style guide"]
    v2, created = prompts.save(acc, "p", _spec(), ["offline/echo"], [doc.id])
    assert created and v2.context_ids == [doc.id]
    assert prompts.diff(v1, v2).context == [("style guide", "changed")]
    assert prompts.context_blocks(acc, v2)[0].text == "Use long, flowing sentences."
    # The spec a batch run builds from a version carries the pinned text.
    assert "short sentences" in v1.spec({"doc": "d", "audience": "a"}).render().prompt


def test_typed_blocks_are_kept_with_the_version(acc):
    v1, _ = prompts.save(acc, "p", _spec(context=[ContextBlock("notes", "typed here")]), [])
    assert v1.context_ids == [] and prompts.context_blocks(acc, v1) == [ContextBlock("notes", "typed here")]


def test_a_run_records_the_version_it_used(acc):
    v1, _ = prompts.save(acc, "p", _spec(), ["offline/echo"])
    spec = v1.spec({"doc": "the report", "audience": "execs"})
    assert v1.matches(spec)
    out = run_prompt(acc, ["offline/echo"], spec, prompt_version_id=v1.id)
    run = run_store.get_run(acc, out.run_ids[0])
    assert run["prompt_version_id"] == v1.id
    listed = run_store.list_runs(acc)
    assert listed[0]["prompt_version_id"] == v1.id
    assert prompts.version_labels(acc, [v1.id]) == {v1.id: "p v1"}
    changed = PromptSpec(**{**spec.__dict__, "template": spec.template + "!"})
    assert not v1.matches(changed)


def test_concurrent_saves_of_one_prompt_get_distinct_versions(acc):
    from concurrent.futures import ThreadPoolExecutor

    def save(i):
        return prompts.save(acc, "busy", _spec(template=f"Version from writer {i}"), ["offline/echo"])[0]

    with ThreadPoolExecutor(4) as pool:
        saved = list(pool.map(save, range(6)))
    assert sorted(v.version for v in saved) == [1, 2, 3, 4, 5, 6]
    assert sorted(v.template for v in prompts.versions(acc, "busy")) == sorted(v.template for v in saved)
