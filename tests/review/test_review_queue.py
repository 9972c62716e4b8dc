"""The review queue and session: orders, k raters, re-check, undo, criterion versions, access, parallel raters."""

from __future__ import annotations

import threading

import pytest

from forge import auth
from forge.review import eval_sets
from forge.review import session as review
from forge.store import new_id, utcnow
from forge.store import ratings as rating_store
from forge.store.traces import TraceFilters, upsert_traces
from tests.conftest import PASSWORD


def _trace(i: int, out_len: int = 10, error: bool = False) -> dict:
    return {
        "source": "file",
        "source_id": f"t{i}",
        "name": f"n{i}",
        "timestamp": f"2026-10-{1 + i:02d}T08:00:00Z",
        "input": f"q{i}",
        "output": "x" * out_len,
        "input_text": f"q{i}",
        "output_text": "x" * out_len,
        "steps": [{"id": f"s{i}", "type": "tool", "name": "lookup", "level": "ERROR" if error else "DEFAULT"}],
    }


@pytest.fixture
def ws(db, admin, default_ws, analyst):
    """(admin access, analyst access, eval set, trace ids t0..t9 oldest to newest)."""
    admin_access = auth.access(db, admin, default_ws.id, "edit")
    ids = upsert_traces(admin_access, [_trace(i, out_len=10 + i) for i in range(10)])["ids"]
    es = eval_sets.create(admin_access, "Grounded", "no invented facts")
    return admin_access, auth.access(db, analyst, default_ws.id, "rate"), es, ids


def _walk(access, es, order: str, n: int, seed: int = 3) -> list[str]:
    s = review.start(access, es["id"], order, seed=seed)
    seen = []
    for _ in range(n):
        seen.append(s.current)
        review.skip(access, s)
    return seen


def test_orders_newest_oldest_and_seeded_random(ws):
    admin, ana, es, ids = ws
    assert _walk(ana, es, "newest", 3) == [ids[9], ids[8], ids[7]]
    assert _walk(ana, es, "oldest", 3) == [ids[0], ids[1], ids[2]]
    shuffled = _walk(ana, es, "random", 10, seed=5)
    assert sorted(shuffled) == sorted(ids) and shuffled != ids and shuffled != ids[::-1]
    assert _walk(ana, es, "random", 10, seed=5) == shuffled  # the seed makes it repeatable
    assert _walk(ana, es, "random", 10, seed=6) != shuffled


def test_informative_alternates_extremes_before_any_eval(db, admin, default_ws):
    access = auth.access(db, admin, default_ws.id, "edit")
    lengths = [50, 5, 500, 60, 70, 80, 90, 5000, 40, 30]
    ids = upsert_traces(access, [_trace(i, out_len=n, error=(i == 3)) for i, n in enumerate(lengths)])["ids"]
    es = eval_sets.create(access, "Cover", "c")
    s = review.start(access, es["id"], "informative")
    first = s.current
    review.rate(access, s, "pass")
    second = s.current
    review.rate(access, s, "fail")
    third = s.current
    assert first == ids[7]  # longest output
    assert second in (ids[1],)  # shortest output
    assert third == ids[3]  # the only trace with a failed step


def test_informative_serves_eval_disagreements_first(ws, db):
    admin, ana, es, ids = ws
    now = utcnow()
    # Two current evals: they agree on every trace but ids[2], where one says pass and the other fail.
    for name in ("a", "b"):
        eval_id, version_id = new_id(), new_id()
        db.execute(
            "INSERT INTO evals (id, workspace_id, eval_set_id, name, origin, status, current_version)"
            " VALUES (?, ?, ?, ?, 'manual', 'kept', 1)",
            [eval_id, admin.workspace_id, es["id"], name],
        )
        db.execute(
            "INSERT INTO eval_versions (id, eval_id, version, source) VALUES (?, ?, 1, 'def evaluate(t): return True')",
            [version_id, eval_id],
        )
        for i, tid in enumerate(ids):
            verdict = (name == "a") if i == 2 else True
            db.execute(
                "INSERT INTO eval_results (eval_version_id, trace_id, workspace_id, verdict, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [version_id, tid, admin.workspace_id, verdict, now],
            )
    assert _walk(ana, es, "informative", 1) == [ids[2]]


def test_k_raters_per_trace_and_recheck_after_a_new_criterion(ws, db, admin, default_ws):
    admin_access, ana, es, ids = ws
    eval_sets.update(admin_access, es["id"], raters_per_trace=2)
    es = rating_store.get_eval_set(admin_access, es["id"])
    s = review.start(admin_access, es["id"], "newest")
    review.rate(admin_access, s, "pass")  # admin rates ids[9]
    # ana still gets ids[9]... after the traces nobody rated: fewest raters first.
    seen = _walk(ana, es, "newest", 10)
    assert seen[:9] == ids[8::-1] and seen[9] == ids[9]
    # With k = 1, a trace someone rated leaves everyone else's queue.
    eval_sets.update(admin_access, es["id"], raters_per_trace=1)
    assert ids[9] not in _walk(ana, es, "newest", 9)

    # A new criterion: the old rating is "earlier", and re-queued it comes back to its rater first.
    assert eval_sets.edit_criterion(admin_access, es["id"], "no invented facts or prices") == 2
    assert eval_sets.edit_criterion(admin_access, es["id"], "no invented facts or prices") is None
    history = rating_store.rater_history(admin_access, es["id"])
    assert history[0]["outdated"] and history[0]["criterion_version"] == 1
    assert rating_store.requeue_outdated(admin_access, es["id"]) == 1
    s = review.start(admin_access, es["id"], "oldest")
    assert s.current == ids[9]
    review.rate(admin_access, s, "fail")
    row = rating_store.my_rating(admin_access, es["id"], ids[9])
    assert row["criterion_version"] == 2 and not row["recheck"] and row["value"] == "fail"
    assert [v["version"] for v in rating_store.criterion_versions(admin_access, es["id"])] == [2, 1]


def test_undo_restores_the_earlier_rating(ws):
    _, ana, es, ids = ws
    s = review.start(ana, es["id"], "newest")
    review.rate(ana, s, "pass", "first")
    review.back(s)
    review.rate(ana, s, "fail", "second thoughts")
    assert rating_store.my_rating(ana, es["id"], ids[9])["value"] == "fail"
    review.undo(ana, s)
    got = rating_store.my_rating(ana, es["id"], ids[9])
    assert (got["value"], got["note"]) == ("pass", "first") and s.current == ids[9]
    review.undo(ana, s)
    assert rating_store.my_rating(ana, es["id"], ids[9]) is None


def test_filters_apply_to_the_queue(ws):
    _, ana, es, ids = ws
    s = review.start(ana, es["id"], "newest", TraceFilters(text="q3"))
    assert s.current == ids[3] and s.left == 1


def test_explicit_scope_and_archive(ws):
    admin, ana, es, ids = ws
    assert eval_sets.add_to_queue(ana, es["id"], trace_ids=[ids[1], ids[2], "not-a-trace"]) == 2
    assert eval_sets.add_to_queue(ana, es["id"], filters=TraceFilters(text="q5")) == 1
    assert sorted(_walk(ana, es, "newest", 3)) == sorted([ids[1], ids[2], ids[5]])
    rating_store.rate(ana, es["id"], ids[1], "pass", None)
    eval_sets.update(admin, es["id"], archived=True)
    assert es["id"] not in {s["id"] for s in rating_store.eval_set_overview(admin)}
    assert es["id"] in {s["id"] for s in rating_store.eval_set_overview(admin, include_archived=True)}
    assert len(rating_store.set_ratings(admin, es["id"])) == 1  # ratings kept
    with pytest.raises(ValueError, match="already exists"):
        eval_sets.create(admin, "Grounded", "again")


def test_viewers_cannot_rate_and_other_workspaces_see_nothing(ws, db, admin, default_ws, outsider):
    admin_access, _, es, ids = ws
    auth.create_user(db, admin, "vera", PASSWORD, "viewer", "Vera")
    auth.add_member(db, admin, default_ws.id, "vera")
    vera = auth.access(db, auth.get_user(db, "vera"), default_ws.id)
    s = review.start(vera, es["id"], "newest")  # a viewer may look at the queue
    with pytest.raises(auth.PermissionDenied):
        review.rate(vera, s, "pass")
    with pytest.raises(auth.PermissionDenied):
        eval_sets.create(vera, "Mine", "x")
    # Another workspace: no set, no trace, no rating crosses over.
    other = auth.create_workspace(db, admin, "other")
    other_access = auth.access(db, admin, other.id, "edit")
    assert rating_store.get_eval_set(other_access, es["id"]) is None
    with pytest.raises(ValueError):
        rating_store.rate(other_access, es["id"], ids[0], "pass", None)
    with pytest.raises(ValueError):
        review.start(other_access, es["id"])
    with pytest.raises(auth.PermissionDenied):
        auth.access(db, outsider, default_ws.id)


def test_parallel_raters_lose_nothing(tmp_path, db, admin, default_ws):
    """N threads x M ratings on one database file, each its own rater and thread cursor: all stored."""
    access = auth.access(db, admin, default_ws.id, "edit")
    n_traces, n_raters = 40, 6
    ids = upsert_traces(access, [_trace(i % 28, out_len=i) | {"source_id": f"p{i}"} for i in range(n_traces)])["ids"]
    es = eval_sets.create(access, "Parallel", "p", raters_per_trace=n_raters)
    raters = []
    for r in range(n_raters):
        user = auth.create_user(db, admin, f"rater{r}", PASSWORD, "analyst", f"Rater {r}")
        auth.add_member(db, admin, default_ws.id, user.username)
        raters.append(auth.access(db, user, default_ws.id, "rate"))
    errors: list[BaseException] = []
    barrier = threading.Barrier(n_raters)

    def work(a):
        try:
            barrier.wait()
            s = review.start(a, es["id"], "random", seed=hash(a.user.username) % 1000)
            while s.current is not None:
                review.rate(a, s, "pass" if len(s.trail) % 2 else "fail", f"by {a.user.username}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(a,)) for a in raters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    stored = rating_store.set_ratings(access, es["id"])
    assert len(stored) == n_traces * n_raters
    assert {(r["trace_id"], r["rater"]) for r in stored} == {(t, a.user.username) for t in ids for a in raters}
    assert all(r["note"] == f"by {r['rater']}" for r in stored)


def test_a_prefetched_trace_another_rater_took_meanwhile_is_not_served(ws):
    admin, ana, es, ids = ws
    s = review.start(ana, es["id"], "newest")  # shows ids[9]; ids[8], ids[7], ... are prefetched
    rating_store.rate(admin, es["id"], ids[8], "pass", None)  # k = 1: ids[8] needs nobody else now
    review.rate(ana, s, "fail")
    assert s.current == ids[7]
