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


def test_a_batch_mixing_empty_and_filled_fields_keeps_each_rows_own(db, admin, default_ws):
    """Columns empty in every row of a batch go in as constants; a field set in one row only stays on it."""
    acc = auth.access(db, admin, default_ws.id)
    full = normalize_trace(
        {
            "id": "full",
            "input": "q",
            "output": "a",
            "tags": ["x", "y"],
            "user_id": "u1",
            "session_id": "s1",
            "latency_ms": 12.5,
            "timestamp": "2024-05-01T10:00:00Z",
        }
    )
    res = store.upsert_traces(acc, [_t(1), full, _t(2)])
    got = {t["source_id"]: t for t in store.get_traces(acc, res["ids"]).values()}
    assert got["full"]["tags"] == ["x", "y"] and got["full"]["user_id"] == "u1"
    assert got["full"]["session_id"] == "s1" and got["full"]["latency_ms"] == 12.5
    assert got["full"]["timestamp"].startswith("2024-05-01T10:00")
    assert got["t1"]["tags"] == [] and got["t1"]["user_id"] is None and got["t1"]["latency_ms"] is None
    alone = store.upsert_traces(acc, [_t(3), _t(4)])  # nothing set in any row: every such column a constant
    t3 = store.get_trace(acc, alone["ids"][0])
    assert t3["tags"] == [] and t3["user_id"] is None and t3["input_tokens"] == 3 and t3["output_text"] == "a"
