"""File import keeps the file's ids, extra fields and models; rows without a time get the import time."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from forge import auth
from forge.store import traces as store
from forge.store import utcnow
from forge.traces.files import import_bytes, import_files
from forge.traces.query import TraceFilters, facet_values, list_traces, trace_detail


def _jsonl(*rows: dict) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


def _search(access, text: str) -> list[str]:
    return [r["id"] for r in list_traces(access, TraceFilters(text=text), page_size=200).rows]


def test_halueval_keeps_its_ids_and_fields_and_is_searchable_by_them(db, admin, default_ws, shared_data):
    access = auth.access(db, admin, default_ws.id)
    before = utcnow()
    summary = import_files(access, [shared_data / "halueval_general.jsonl"])
    assert summary["failed"] == 0 and summary["imported"] > 4000
    t = store.get_trace_by_source(access, "file", "halueval-general-17")
    assert t is not None and t["source_id"] == "halueval-general-17"
    # every field outside the unified shape is kept; the label went to ratings, not metadata
    assert {"model", "label_raw", "hallucination_spans", "dataset"} <= set(t["metadata"])
    assert t["metadata"]["model"] == "ChatGPT (gpt-3.5-turbo, 2023)" and "human_label" not in t["metadata"]
    # no timestamp in the file: the import time, and flagged as such
    stamp = datetime.fromisoformat(t["timestamp"].rstrip("Z"))
    assert before - timedelta(seconds=5) <= stamp <= utcnow() + timedelta(seconds=5) and t["timestamp_imputed"]
    # right after the import, page 1 of "newest" and of "oldest" both show these traces
    for sort in ("newest", "oldest"):
        page = list_traces(access, page_size=5, sort=sort)
        assert page.rows and all(r["timestamp"] is not None for r in page.rows)
    # search finds it by its source id (exactly: not 170-179), and by its Forge id
    assert _search(access, "halueval-general-17") == [t["id"]]
    assert _search(access, t["id"]) == [t["id"]]
    # by a metadata value, but a metadata key alone does not match every trace
    with_spans = _search(access, "ChatGPT (gpt-3.5-turbo, 2023)")
    assert len(with_spans) == 200  # a page full: every HaluEval row has that model value
    assert _search(access, "label_raw") == []
    assert trace_detail(access, t["id"])["metadata"]["label_raw"] in ("yes", "no")


def test_metadata_search_finds_values_with_special_characters(db, admin, default_ws):
    access = auth.access(db, admin, default_ws.id)
    rows = [
        {"id": "a", "input": "q", "output": "x", "customer": 'Zoë "the boss" Ng', "ticket": 4711},
        {"id": "b", "input": "q", "output": "x", "metadata": {"region": "eu-west"}},
    ]
    import_bytes(access, "m.jsonl", _jsonl(*rows))
    a = store.get_trace_by_source(access, "file", "a")["id"]
    b = store.get_trace_by_source(access, "file", "b")["id"]
    assert _search(access, '"the boss"') == [a]
    assert _search(access, "zoë") == [a]
    assert _search(access, "4711") == [a]
    assert _search(access, "EU-WEST") == [b]
    assert _search(access, "region") == []  # a key, not a value


def test_reimport_without_time_keeps_the_first_import_time(db, admin, default_ws):
    access = auth.access(db, admin, default_ws.id)
    import_bytes(access, "t.jsonl", _jsonl({"id": "r1", "input": "q", "output": "a"}))
    first = store.get_trace_by_source(access, "file", "r1")["timestamp"]
    import_bytes(access, "t.jsonl", _jsonl({"id": "r1", "input": "q", "output": "b"}))
    again = store.get_trace_by_source(access, "file", "r1")
    assert again["timestamp"] == first and again["timestamp_imputed"] and again["output"] == "b"
    import_bytes(
        access, "t.jsonl", _jsonl({"id": "r1", "input": "q", "output": "c", "timestamp": "2026-01-02T03:04:05Z"})
    )
    dated = store.get_trace_by_source(access, "file", "r1")
    assert dated["timestamp"].startswith("2026-01-02T03:04:05") and not dated["timestamp_imputed"]


def test_model_names_are_one_per_model_in_the_filter(db, admin, default_ws):
    access = auth.access(db, admin, default_ws.id)
    rows = [
        {"id": "p", "input": "q", "output": "a", "steps": [{"type": "generation", "model": "openai/gpt-4o-mini"}]},
        {"id": "l", "input": "q", "output": "a", "steps": [{"type": "generation", "model": "gpt-4o-mini"}]},
        {"id": "c", "input": "q", "output": "a", "steps": [{"type": "generation", "model": "claude-sonnet-4-5"}]},
        {"id": "m", "input": "q", "output": "a", "steps": [{"type": "generation", "model": "mistral-large"}]},
    ]
    import_bytes(access, "m.jsonl", _jsonl(*rows))
    models = facet_values(access)["models"]
    assert sorted(models) == ["anthropic/claude-sonnet-4-5", "mistral-large", "openai/gpt-4o-mini"]
    both = list_traces(access, TraceFilters(models=("openai/gpt-4o-mini",))).total
    assert both == 2
    # the step itself still shows the name the source used
    t = store.get_trace_by_source(access, "file", "l")
    assert t["steps"][0]["model"] == "gpt-4o-mini"
