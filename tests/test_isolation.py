"""A user sees and changes only the workspaces they belong to — enforced in forge/, not in pages.

`otto` is an analyst in his own workspace only; he tries every way in to the admin's
`default` workspace: its id with his login, his own workspace id with the other's object ids.
"""

from __future__ import annotations

import pytest

from forge import auth
from forge.auth import PermissionDenied
from forge.review import ratings
from forge.store import evals, traces

TRACE = {
    "id": "t-secret-1",
    "name": "secret answer",
    "timestamp": "2026-11-20T10:00:00Z",
    "input": {"question": "What is the launch date?"},
    "output": "The launch is on 12 December.",
    "tags": ["confidential"],
}


@pytest.fixture
def secret(db, admin, default_ws):
    """A trace, an eval set with a rating and an eval in the admin's workspace."""
    res = traces.upsert_traces(
        auth.access(db, admin, default_ws.id), [dict(TRACE, source="file", source_id="t-secret-1")]
    )
    trace_id = res["ids"][0]
    es = ratings.get_or_create_eval_set(auth.access(db, admin, default_ws.id), "Grounded", "No invented facts")
    ratings.upsert_ratings(
        auth.access(db, admin, default_ws.id), es["id"], [{"trace_id": trace_id, "value": "pass", "note": "ok"}]
    )
    ev = evals.create_eval(
        auth.access(db, admin, default_ws.id), es["id"], "has_date", "def evaluate(trace):\n    return True\n"
    )
    return {"trace_id": trace_id, "eval_set_id": es["id"], "eval_id": ev.id}


@pytest.fixture
def otto_ws(db, outsider):
    return auth.resolve_workspace(db, outsider, "otto-space")


def test_outsider_cannot_read_traces_of_a_workspace_he_is_not_in(db, outsider, default_ws, secret):
    with pytest.raises(PermissionDenied):
        traces.get_trace(auth.access(db, outsider, default_ws.id), secret["trace_id"])


def test_outsider_cannot_reach_a_foreign_trace_through_his_own_workspace(db, outsider, otto_ws, secret):
    assert traces.get_trace(auth.access(db, outsider, otto_ws.id), secret["trace_id"]) is None


def test_outsider_cannot_write_or_delete_traces_there(db, outsider, default_ws, otto_ws, secret):
    with pytest.raises(PermissionDenied):
        traces.upsert_traces(auth.access(db, outsider, default_ws.id), [dict(TRACE, source="file", source_id="evil")])
    with pytest.raises(PermissionDenied):
        traces.delete_traces(auth.access(db, outsider, default_ws.id), [secret["trace_id"]])
    # Deleting "through" his own workspace removes nothing of theirs.
    assert traces.delete_traces(auth.access(db, outsider, otto_ws.id), [secret["trace_id"]]) == 0
    assert db.scalar("SELECT count(*) FROM traces WHERE id = ?", [secret["trace_id"]]) == 1


def test_outsider_cannot_read_or_write_ratings_there(db, outsider, default_ws, otto_ws, secret):
    with pytest.raises(PermissionDenied):
        ratings.ratings_for_trace(auth.access(db, outsider, default_ws.id), secret["trace_id"])
    with pytest.raises(PermissionDenied):
        ratings.list_eval_sets(auth.access(db, outsider, default_ws.id))
    with pytest.raises(PermissionDenied):
        ratings.upsert_ratings(
            auth.access(db, outsider, default_ws.id),
            secret["eval_set_id"],
            [{"trace_id": secret["trace_id"], "value": "fail"}],
        )
    # His own workspace id with their eval set and trace: refused, nothing changes.
    with pytest.raises((PermissionDenied, ValueError, LookupError)):
        ratings.upsert_ratings(
            auth.access(db, outsider, otto_ws.id),
            secret["eval_set_id"],
            [{"trace_id": secret["trace_id"], "value": "fail"}],
        )
    assert ratings.ratings_for_trace(auth.access(db, outsider, otto_ws.id), secret["trace_id"]) == []
    assert db.fetchall("SELECT value FROM ratings") == [("pass",)]


def test_outsider_cannot_read_or_write_evals_there(db, outsider, default_ws, otto_ws, secret):
    with pytest.raises(PermissionDenied):
        evals.list_evals(auth.access(db, outsider, default_ws.id))
    with pytest.raises(PermissionDenied):
        evals.get_eval(auth.access(db, outsider, default_ws.id), secret["eval_id"])
    with pytest.raises(PermissionDenied):
        evals.create_eval(
            auth.access(db, outsider, default_ws.id), secret["eval_set_id"], "x", "def evaluate(t):\n    return False\n"
        )
    with pytest.raises(PermissionDenied):
        evals.add_version(
            auth.access(db, outsider, default_ws.id), secret["eval_id"], "def evaluate(t):\n    return False\n"
        )
    assert evals.get_eval(auth.access(db, outsider, otto_ws.id), secret["eval_id"]) is None
    assert evals.versions(auth.access(db, outsider, otto_ws.id), secret["eval_id"]) == []
    with pytest.raises(evals.EvalError):
        evals.add_version(
            auth.access(db, outsider, otto_ws.id), secret["eval_id"], "def evaluate(t):\n    return False\n"
        )
    with pytest.raises(evals.EvalError):
        evals.create_eval(
            auth.access(db, outsider, otto_ws.id), secret["eval_set_id"], "x", "def evaluate(t):\n    return False\n"
        )
    assert db.scalar("SELECT count(*) FROM eval_versions") == 1


def test_member_sees_and_viewer_cannot_change(db, admin, analyst, default_ws, secret):
    assert traces.get_trace(auth.access(db, analyst, default_ws.id), secret["trace_id"])["name"] == "secret answer"
    viewer = auth.create_user(db, admin, "vic", "viewer passphrase", "viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    assert traces.get_trace(auth.access(db, viewer, default_ws.id), secret["trace_id"]) is not None
    with pytest.raises(PermissionDenied):
        ratings.upsert_ratings(
            auth.access(db, viewer, default_ws.id),
            secret["eval_set_id"],
            [{"trace_id": secret["trace_id"], "value": "fail"}],
        )
    with pytest.raises(PermissionDenied):
        traces.upsert_traces(auth.access(db, viewer, default_ws.id), [dict(TRACE, source="file", source_id="v")])


def test_removed_member_loses_access_at_once(db, admin, analyst, default_ws, secret):
    auth.remove_member(db, admin, default_ws.id, "ana")
    with pytest.raises(PermissionDenied):
        traces.get_trace(auth.access(db, analyst, default_ws.id), secret["trace_id"])
