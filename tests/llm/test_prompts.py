"""Templates with {{variables}}, context blocks, and --var parsing."""

from __future__ import annotations

import pytest

from forge.llm.prompts import (
    ContextBlock,
    PromptError,
    PromptSpec,
    context_from_bytes,
    context_from_file,
    parse_vars,
    variables_in,
)


def test_variables_are_filled():
    spec = PromptSpec("Translate {{ text }} into {{lang}}. Again: {{text}}", {"text": "hello", "lang": "French"})
    assert spec.render().prompt == "Translate hello into French. Again: hello"
    assert variables_in(spec.template) == ["text", "lang"]


def test_missing_variable_is_named():
    with pytest.raises(PromptError, match=r"No value for \{\{lang\}\}"):
        PromptSpec("Into {{lang}}", {}).render()


def test_context_goes_first_or_where_asked():
    blocks = [ContextBlock("notes.txt", "Alpha"), ContextBlock("typed", "Beta")]
    first = PromptSpec("Answer from the context.", context=blocks).render().prompt
    assert first.index("Alpha") < first.index("Beta") < first.index("Answer from the context.")
    assert '<context name="notes.txt">' in first
    placed = PromptSpec("Question first.\n{{context}}\nEnd.", context=blocks).render().prompt
    assert placed.startswith("Question first.") and placed.endswith("End.") and "Alpha" in placed


def test_system_prompt_parameters_and_empty_prompt():
    req = PromptSpec(
        "Hi {{name}}", {"name": "Ann"}, system="You greet {{name}}", temperature=0.1, max_tokens=20
    ).render()
    assert (req.system, req.temperature, req.max_tokens) == ("You greet Ann", 0.1, 20)
    with pytest.raises(PromptError, match="empty"):
        PromptSpec("   ").render()


def test_parse_vars():
    assert parse_vars(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(PromptError, match="expected NAME=VALUE"):
        parse_vars(["novalue"])


def test_context_files(tmp_path):
    f = tmp_path / "notes.md"
    f.write_text("Some notes", encoding="utf-8")
    assert context_from_file(f) == ContextBlock("notes.md", "Some notes")
    with pytest.raises(PromptError, match="not found"):
        context_from_file(tmp_path / "absent.txt")
    with pytest.raises(PromptError, match="not a text file"):
        context_from_bytes("img.png", b"\x89PNG\x00\x00")
