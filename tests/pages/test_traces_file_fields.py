"""Traces page on file imports: the file's ids shown and searchable, metadata kept, the import time marked."""

from __future__ import annotations

import json

from forge import auth
from forge.store import traces as store
from forge.traces.files import import_bytes
from forge.ui.trace_view import IMPORTED_MARK

ROWS = [
    {
        "id": f"halueval-general-{i}",
        "input": f"question {i}",
        "output": f"answer {i}",
        "model": "ChatGPT (gpt-3.5-turbo, 2023)",
        "label_raw": "no",
        "hallucination_spans": [],
    }
    for i in range(1, 25)
]


def test_search_by_source_id_opens_the_trace_with_its_id_metadata_and_import_time(db, admin, default_ws, app_as):
    access = auth.access(db, admin, default_ws.id)
    import_bytes(access, "halueval.jsonl", "\n".join(json.dumps(r) for r in ROWS).encode())
    at = app_as("admin", page="pages/traces.py")
    times = list(at.dataframe[0].value["Time"])
    assert times and all(t.startswith(IMPORTED_MARK) and "None" not in t for t in times)
    assert any(f"{IMPORTED_MARK} marks traces without a time of their own" in c.value for c in at.caption)

    at.text_input(key="traces_text").input("halueval-general-17").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Source id"]) == ["halueval-general-17"]  # exactly that one, not 170-179
    at.selectbox(key="traces_open").select_index(1).run()
    assert not at.exception
    caption = " ".join(c.value for c in at.caption)
    assert "source id halueval-general-17" in caption.replace("\\", "") and "imported at" in caption
    metadata = [j.value for j in at.json]
    assert any('"label_raw"' in m and "ChatGPT" in m for m in metadata)  # not "(empty)"

    at.text_input(key="traces_text").input("gpt-3.5-turbo").run()  # a metadata value
    assert not at.exception and len(at.dataframe[0].value) == 24
    tid = store.get_trace_by_source(access, "file", "halueval-general-3")["id"]
    at.text_input(key="traces_text").input(tid).run()  # Forge's own id
    assert list(at.dataframe[0].value["Source id"]) == ["halueval-general-3"]
