"""Deleting a workspace removes everything in it, in every table, and nothing of other workspaces."""

from __future__ import annotations

from forge import auth, demo
from forge.review import ratings
from forge.store import evals as eval_store
from forge.store.workspaces import delete_workspace

EVAL = "def evaluate(trace):\n    return True\n"


def _fill(db, admin, workspace_id: str) -> None:
    demo.load_demo(db, admin, workspace_id)
    access = auth.access(db, admin, workspace_id)
    es = ratings.get_or_create_eval_set(access, demo.DEMO_EVAL_SET)
    eval_store.create_eval(access, es["id"], "always-pass", EVAL)


def _rows(db) -> dict[str, int]:
    tables = [
        r[0] for r in db.fetchall("SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'")
    ]
    return {t: db.scalar(f"SELECT count(*) FROM {t}") for t in tables}


def test_delete_workspace_clears_every_table_and_keeps_the_other(db, admin, default_ws):
    _fill(db, admin, default_ws.id)
    before_other = _rows(db)
    other = auth.create_workspace(db, admin, "Research")
    _fill(db, admin, other.id)
    deleted = delete_workspace(db, other.id)
    after = _rows(db)
    assert deleted["traces"] == 72 and deleted["eval_versions"] == 1 and deleted["workspaces"] == 1
    # Every table is back to what the first workspace alone holds (users and logins are not per workspace).
    assert {t: n for t, n in after.items() if t != "login_attempts"} == {
        t: n for t, n in before_other.items() if t != "login_attempts"
    }
