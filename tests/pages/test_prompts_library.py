"""Prompts page, Context library tab (AppTest): typed documents, uploads of every type, the size limit, search."""

from __future__ import annotations

import re

from forge import auth
from forge.library import contexts
from forge.library.contexts import MAX_DOCUMENT_BYTES
from tests.library.pdf import make_pdf

PROMPTS = "pages/prompts.py"


def _texts(at, kind):
    return [re.sub(r"\\(.)", r"\1", str(e.value)) for e in getattr(at, kind)]


def _docs_table(at):
    return next(d.value for d in at.dataframe if "characters" in d.value.columns)


def test_upload_each_type_and_refuse_a_too_large_file(app_as, db, admin, default_ws):
    at = app_as("admin", page=PROMPTS)
    assert any("No saved prompts yet" in t for t in _texts(at, "info"))
    assert any("The context library is empty" in t for t in _texts(at, "info"))
    files = [
        ("notes.txt", b"Plain notes about refunds.", "text/plain"),
        ("guide.md", b"# Style\n\nShort sentences.", "text/markdown"),
        ("prices.csv", b"plan,price\nbasic,10\n", "text/csv"),
        ("faq.json", b'{"q": "How long?", "a": "5 days"}', "application/json"),
        ("policy.pdf", make_pdf([["Refunds within 30 days."]]), "application/pdf"),
        ("huge.txt", b"x" * (MAX_DOCUMENT_BYTES + 10), "text/plain"),
    ]
    at.file_uploader(key="lib_files").set_value(files)
    at.text_input(key="lib_file_tags").input("support, v1")
    at.run()
    at.button(key="lib_add_files").click()
    at.run()
    assert not at.exception, at.exception
    errors = _texts(at, "error")
    assert errors == ["huge.txt is 5.0 MB; the limit for a context document is 5 MB (MAX_CONTEXT_FILE_BYTES)"]
    assert any("Added 5 documents" in s for s in _texts(at, "success"))
    at.run()
    table = _docs_table(at)
    assert sorted(table["name"]) == ["faq.json", "guide.md", "notes.txt", "policy.pdf", "prices.csv"]
    assert set(table["kind"]) == {"txt", "md", "csv", "json", "pdf"}
    assert set(table["tags"]) == {"support, v1"}
    pdf_row = table[table["name"] == "policy.pdf"].iloc[0]
    assert "Refunds within 30 days." in pdf_row["text"]


def test_typed_document_then_search_by_name_tag_and_text(app_as, db, admin, default_ws):
    acc = auth.access(db, admin, default_ws.id, "edit")
    contexts.add_text(acc, "Pricing", "Pro costs 30 dollars.", tags="sales")
    contexts.add_text(acc, "Refund policy", "Refunds are paid within 30 days.", tags="support")
    at = app_as("admin", page=PROMPTS)
    at.text_input(key="lib_new_name").input("Tone guide")
    at.text_input(key="lib_new_tags").input("Style, voice")
    at.text_area(key="lib_new_text").input("Be warm and brief.")
    next(b for b in at.button if b.label == "Save document").click()
    at.run()
    assert not at.exception, at.exception
    assert "Saved document 'Tone guide'." in _texts(at, "success")

    def search(query="", tags=()):
        at.text_input(key="lib_query").input(query)
        at.multiselect(key="lib_tags").set_value(list(tags))
        at.run()
        assert not at.exception, at.exception
        if any("No document matches" in t for t in _texts(at, "info")):
            return []
        return sorted(_docs_table(at)["name"])

    assert search("tone") == ["Tone guide"]  # name
    assert search("voice") == ["Tone guide"]  # tag
    assert search("warm") == ["Tone guide"]  # text
    assert search("30") == ["Pricing", "Refund policy"]
    assert search("", ["sales"]) == ["Pricing"]
    assert search("nothing like it") == []


def test_edit_a_document(app_as, db, admin, default_ws):
    acc = auth.access(db, admin, default_ws.id, "edit")
    doc = contexts.add_text(acc, "Tone", "Be warm.")
    at = app_as("admin", page=PROMPTS)
    area = next(t for t in at.text_area if t.value == "Be warm.")
    area.input("Be warm and brief.")
    next(b for b in at.button if b.label == "Save changes").click()
    at.run()
    assert not at.exception, at.exception
    assert "Document saved." in _texts(at, "success")
    assert contexts.get(acc, doc.id).text == "Be warm and brief."


def test_a_viewer_sees_the_library_but_no_add_or_edit(app_as, db, admin, default_ws):
    acc = auth.access(db, admin, default_ws.id, "edit")
    contexts.add_text(acc, "Tone", "Be warm.")
    auth.create_user(db, admin, "vera", "correct horse battery staple", "viewer")
    auth.add_member(db, admin, default_ws.id, "vera")
    at = app_as("vera", page=PROMPTS)
    assert not at.exception, at.exception
    assert list(_docs_table(at)["name"]) == ["Tone"]
    assert not at.file_uploader and "Save changes" not in [b.label for b in at.button]
