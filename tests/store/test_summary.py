"""workspace_summary: what a workspace holds and the next thing to do, for members only."""

from __future__ import annotations

import pytest

from forge import auth, demo
from forge.review import ratings
from forge.store.summary import ENOUGH_RATINGS, eval_set_counts, workspace_summary


def test_empty_workspace_says_bring_in_traces(db, admin, default_ws):
    s = workspace_summary(auth.access(db, admin, default_ws.id))
    assert (s.traces, s.eval_sets, s.ratings_total, s.evals, s.runs) == (0, 0, 0, 0, 0)
    assert s.next_step.title == "Bring in some traces"
    assert s.next_step.page == "pages/import.py"


def test_demo_data_counts_and_next_step(db, admin, default_ws):
    demo.load_demo(db, admin, default_ws.id)
    s = workspace_summary(auth.access(db, admin, default_ws.id))
    assert s.traces == 72 and s.eval_sets == 1
    assert s.ratings["pass"] + s.ratings["fail"] == 36 == s.rated_traces
    assert s.next_step.title == "Create evals" and s.next_step.page == "pages/generate.py"


def test_few_ratings_ask_for_more_rating(db, admin, default_ws):
    demo.load_demo(db, admin, default_ws.id)
    es = ratings.get_or_create_eval_set(auth.access(db, admin, default_ws.id), "Polite tone")
    db.execute("DELETE FROM ratings WHERE workspace_id = ?", [default_ws.id])
    trace_ids = [r[0] for r in db.fetchall("SELECT id FROM traces ORDER BY id LIMIT 5")]
    ratings.upsert_ratings(
        auth.access(db, admin, default_ws.id), es["id"], [{"trace_id": t, "value": "pass"} for t in trace_ids]
    )
    s = workspace_summary(auth.access(db, admin, default_ws.id))
    assert s.ratings == {"pass": 5, "fail": 0, "neutral": 0}
    assert s.next_step.title == "Rate more traces" and s.next_step.page == "pages/review.py"
    assert f"at least {ENOUGH_RATINGS}" in s.next_step.detail


def test_outsider_gets_no_summary_of_another_workspace(db, admin, default_ws, outsider):
    demo.load_demo(db, admin, default_ws.id)
    with pytest.raises(auth.PermissionDenied):
        workspace_summary(auth.access(db, outsider, default_ws.id))
    own = auth.workspaces_for(db, outsider)[0]
    assert workspace_summary(auth.access(db, outsider, own.id)).traces == 0


def test_viewer_may_read_the_summary_but_not_load_demo_data(db, admin, default_ws):
    viewer = auth.create_user(db, admin, "vic", "correct horse battery staple", "viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    with pytest.raises(auth.PermissionDenied):
        demo.load_demo(db, viewer, default_ws.id)
    assert workspace_summary(auth.access(db, viewer, default_ws.id)).traces == 0


def test_eval_set_counts_are_traces_per_value_within_each_set(db, admin, analyst, default_ws):
    demo.load_demo(db, admin, default_ws.id)
    trace_ids = [r[0] for r in db.fetchall("SELECT id FROM traces ORDER BY id LIMIT 3")]
    es = ratings.get_or_create_eval_set(auth.access(db, admin, default_ws.id), "Polite tone", "Says please")
    for who in (admin, analyst):  # two raters agree on one trace: one trace, two ratings
        ratings.upsert_ratings(
            auth.access(db, who, default_ws.id), es["id"], [{"trace_id": trace_ids[0], "value": "fail"}]
        )
    ratings.upsert_ratings(
        auth.access(db, admin, default_ws.id), es["id"], [{"trace_id": trace_ids[1], "value": "neutral"}]
    )
    counts = {c["name"]: c for c in eval_set_counts(auth.access(db, admin, default_ws.id))}
    polite = counts["Polite tone"]
    assert (polite["pass"], polite["fail"], polite["neutral"], polite["ratings"]) == (0, 1, 1, 3)
    demo_set = counts[demo.DEMO_EVAL_SET]
    assert demo_set["pass"] + demo_set["fail"] == 36 and polite["criterion"] == "Says please"
