"""Another workspace's prompts and documents stay out of reach, even with their ids."""

from __future__ import annotations

import pytest

from forge import auth
from forge.library import contexts, prompts
from forge.llm.prompts import PromptSpec


def test_ids_of_another_workspace_reach_nothing(db, acc, outsider):
    doc = contexts.add_text(acc, "Secret", "The launch is on 12 December.", tags="confidential")
    pv, _ = prompts.save(acc, "launch", PromptSpec(template="When?"), [], [doc.id])
    otto = auth.resolve_access(db, outsider, "otto-space", "edit")

    with pytest.raises(LookupError):
        prompts.get_by_id(otto, pv.id)
    with pytest.raises(LookupError):
        contexts.get(otto, doc.id)
    with pytest.raises(LookupError):  # attaching it to his own prompt
        prompts.save(otto, "mine", PromptSpec(template="x"), [], [doc.id])
    with pytest.raises(LookupError):
        contexts.update(otto, doc.id, text="changed")
    assert not contexts.delete(otto, doc.id)
    assert contexts.search(otto, "launch") == [] and contexts.tags(otto) == []
    assert prompts.version_labels(otto, [pv.id]) == {}
    assert contexts.get(acc, doc.id).text == "The launch is on 12 December."
