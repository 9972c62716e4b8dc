"""The proof of a permission check: only forge.auth makes one, and it carries the role as stored."""

from __future__ import annotations

import json

import pytest

from forge import auth, jobs
from forge.store import traces as trace_store
from forge.store.access import Access
from forge.store.types import ImportSummary, RowError


def test_an_access_cannot_be_made_without_the_check(db, admin, default_ws):
    with pytest.raises(TypeError, match="forge.auth.access"):
        Access(db, admin, default_ws, "admin", frozenset({"read", "import"}))
    with pytest.raises(TypeError):
        Access(db, admin, default_ws, "admin", frozenset({"read"}), _seal=object())


def test_access_reads_the_role_as_stored_now(db, admin, analyst, default_ws):
    held = analyst  # a User value from before the demotion
    assert auth.access(db, held, default_ws.id).may("rate")
    auth.set_role(db, admin, "ana", "viewer")
    access = auth.access(db, held, default_ws.id)
    assert access.role == "viewer" and access.workspace.name == "default"
    with pytest.raises(auth.PermissionDenied, match="viewer"):
        trace_store.upsert_traces(access, [{"source_id": "x", "output": ""}])
    assert trace_store.count_traces(access) == 0


def test_outsiders_get_no_access(db, outsider, default_ws):
    with pytest.raises(auth.PermissionDenied):
        auth.access(db, outsider, default_ws.id)


def test_a_registered_job_kind_runs_with_an_access_checked_again_at_start(db, admin, analyst, default_ws):
    seen = []

    def count_traces(access, progress, note):
        seen.append((access.user.username, access.role, note))
        return {"traces": trace_store.count_traces(access)}

    jobs.register(jobs.JobKind("test-count", count_traces, action="read", needs=lambda p: ("rate",)))
    job = jobs.submit(db, analyst, default_ws.id, "test-count", note="hi")
    done = jobs.wait(db, analyst, default_ws.id, job.id, timeout=10)
    assert done.status == "done" and done.result == {"traces": 0} and done.params == {"note": "hi"}
    assert seen == [("ana", "analyst", "hi")]
    auth.set_role(db, admin, "ana", "viewer")
    with pytest.raises(auth.PermissionDenied):
        jobs.submit(db, analyst, default_ws.id, "test-count", note="again")


def test_import_summary_json_is_what_forge_import_prints():
    s = ImportSummary(imported=2, failed=1)
    s.error("a.jsonl", 3, "output", "missing")
    s.ratings.eval_set = "Grounded"
    out = json.loads(json.dumps(s.to_json()))
    assert out == {
        "imported": 2,
        "updated": 0,
        "skipped": 0,
        "failed": 1,
        "errors": [{"file": "a.jsonl", "line": 3, "field": "output", "message": "missing"}],
        "warnings": [],
        "ratings": {"stored": 0, "skipped": 0, "eval_set": "Grounded"},
    }
    assert s["errors"][0]["line"] == 3 and s.errors[0] == RowError("a.jsonl", 3, "output", "missing")
    assert not s.nothing_valid
