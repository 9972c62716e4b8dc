"""Trace store: upsert never duplicates, ids are stable, isolation holds."""

import pytest

from forge import auth
from forge.store import traces as store
from forge.traces.model import normalize_trace


def _t(i, out="a"):
    return normalize_trace(
        {
            "id": f"t{i}",
            "input": "q",
            "output": out,
            "steps": [{"id": "s", "model": "m1", "input_tokens": 3, "output_tokens": 4}],
        }
    )


def test_upsert_updates_in_place(db, admin, default_ws):
    first = store.upsert_traces(auth.access(db, admin, default_ws.id), [_t(1), _t(2)])
    assert (first["imported"], first["updated"]) == (2, 0)
    second = store.upsert_traces(auth.access(db, admin, default_ws.id), [_t(1, "changed"), _t(3)])
    assert (second["imported"], second["updated"]) == (1, 1) and second["ids"][0] == first["ids"][0]
    t = store.get_trace(auth.access(db, admin, default_ws.id), first["ids"][0])
    assert t["output_text"] == "changed" and t["models"] == ["m1"] and t["input_tokens"] == 3
    assert store.count_traces(auth.access(db, admin, default_ws.id)) == 3


def test_viewers_and_outsiders_cannot_write_or_read(db, admin, default_ws, outsider):
    ids = store.upsert_traces(auth.access(db, admin, default_ws.id), [_t(1)])["ids"]
    with pytest.raises(auth.PermissionDenied):
        store.upsert_traces(auth.access(db, outsider, default_ws.id), [_t(2)])
    with pytest.raises(auth.PermissionDenied):
        store.get_trace(auth.access(db, outsider, default_ws.id), ids[0])
    assert store.delete_traces(auth.access(db, admin, default_ws.id), ids) == 1
    assert store.get_trace(auth.access(db, admin, default_ws.id), ids[0]) is None
