"""The context library: typed and uploaded documents (txt, md, csv, json, pdf), the size limit, tags, search."""

from __future__ import annotations

import pytest

from forge.library import contexts
from forge.library.contexts import MAX_DOCUMENT_BYTES, DocumentError
from forge.store.access import PermissionDenied
from tests.library.pdf import make_pdf

FILES = {
    "notes.txt": b"Plain notes about refunds.",
    "guide.md": b"# Style\n\nShort sentences.",
    "prices.csv": b"plan,price\nbasic,10\npro,30\n",
    "faq.json": b'{"q": "How long do refunds take?", "a": "5 days"}',
}


@pytest.mark.parametrize("filename", sorted(FILES))
def test_each_text_file_type_becomes_a_document(acc, filename):
    doc = contexts.add_file(acc, filename, FILES[filename], tags="support")
    assert doc.name == filename and doc.kind == filename.rsplit(".", 1)[1]
    assert doc.text == FILES[filename].decode() and doc.tags == ["support"] and doc.created_by == "ana"


def test_pdf_text_is_extracted(acc):
    data = make_pdf([["Refund policy (2026)", "Refunds within 30 days."], ["Second page: exceptions."]])
    doc = contexts.add_file(acc, "policy.pdf", data)
    assert doc.kind == "pdf" and doc.size_bytes == len(data)
    assert "Refunds within 30 days." in doc.text and "Second page: exceptions." in doc.text


def test_broken_and_textless_pdfs_are_refused_by_name(acc):
    with pytest.raises(DocumentError, match="broken.pdf: not a readable PDF"):
        contexts.add_file(acc, "broken.pdf", b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(DocumentError, match="blank.pdf: the PDF has no text"):
        contexts.add_file(acc, "blank.pdf", make_pdf([[]]))


def test_too_large_file_is_refused_naming_the_limit(acc):
    with pytest.raises(DocumentError, match=r"big.txt is 5.0 MB; the limit for a context document is 5 MB"):
        contexts.add_file(acc, "big.txt", b"x" * (MAX_DOCUMENT_BYTES + 1))
    assert contexts.search(acc) == []


def test_other_types_bad_json_and_binaries_are_refused(acc):
    with pytest.raises(DocumentError, match=r"slides.pptx: a context document is a txt, md, csv, json or pdf"):
        contexts.add_file(acc, "slides.pptx", b"PK..")
    with pytest.raises(DocumentError, match="bad.json: not valid JSON \\(line 1"):
        contexts.add_file(acc, "bad.json", b"{nope")
    with pytest.raises(DocumentError, match="not a text file"):
        contexts.add_file(acc, "bin.txt", b"\x00\x01\x02")


def test_search_by_name_tag_and_text(acc):
    contexts.add_text(acc, "Refund policy", "Refunds are paid within 30 days.", tags="support, policy")
    contexts.add_text(acc, "Tone guide", "Be warm and brief.", tags=["style"])
    contexts.add_text(acc, "Pricing", "Pro costs 30 dollars.", tags="sales")

    def names(query="", tags=None):
        return [d.name for d in contexts.search(acc, query, tags)]

    assert names("refund") == ["Refund policy"]  # name (and text)
    assert names("STYLE") == ["Tone guide"]  # a tag, any case
    assert names("warm") == ["Tone guide"]  # text only
    assert names("30") == ["Pricing", "Refund policy"]
    assert names(tags=["policy"]) == ["Refund policy"]
    assert names("30", tags=["sales"]) == ["Pricing"]
    assert names("nothing like this") == []
    assert contexts.tags(acc) == ["policy", "sales", "style", "support"]


def test_names_are_unique_and_edits_keep_the_document(acc):
    doc = contexts.add_text(acc, "Tone", "Be warm.")
    with pytest.raises(DocumentError, match="already a document called 'Tone'"):
        contexts.add_text(acc, "Tone", "other")
    edited = contexts.update(acc, doc.id, name="Tone guide", text="Be warm and brief.", tags="style")
    assert (edited.id, edited.name, edited.text, edited.tags) == (doc.id, "Tone guide", "Be warm and brief.", ["style"])
    assert edited.content_hash != doc.content_hash
    assert contexts.delete(acc, doc.id) and contexts.search(acc) == []


def test_bad_tags_and_empty_text_are_refused(acc):
    with pytest.raises(DocumentError, match="Tag"):
        contexts.add_text(acc, "x", "text", tags="<script>")
    with pytest.raises(DocumentError, match="empty"):
        contexts.add_text(acc, "x", "   ")


def test_viewers_search_but_cannot_add(acc, viewer_acc):
    contexts.add_text(acc, "Tone", "Be warm.")
    assert [d.name for d in contexts.search(viewer_acc, "warm")] == ["Tone"]
    with pytest.raises(PermissionDenied):
        contexts.add_text(viewer_acc, "Mine", "text")
