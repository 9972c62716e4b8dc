"""Ratings: DESIGN.md's rating words, one rating per rater, workspace-bound."""

import pytest

from forge import auth
from forge.review import ratings
from forge.store import traces as store
from forge.traces.model import normalize_trace


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("pass", "pass"),
        ("UP", "pass"),
        (1, "pass"),
        (True, "pass"),
        ("true", "pass"),
        ("1", "pass"),
        ("fail", "fail"),
        ("down", "fail"),
        (0, "fail"),
        (False, "fail"),
        ("0", "fail"),
        ("neutral", "neutral"),
    ],
)
def test_normalize_rating(raw, expected):
    assert ratings.normalize_rating(raw) == expected


def test_unknown_rating_is_refused():
    with pytest.raises(ValueError, match="pass/fail/neutral"):
        ratings.normalize_rating("maybe")


def test_upsert_ratings_replaces_same_rater(db, admin, analyst, default_ws):
    (tid,) = store.upsert_traces(auth.access(db, admin, default_ws.id), [normalize_trace({"id": "x", "output": ""})])[
        "ids"
    ]
    es = ratings.get_or_create_eval_set(auth.access(db, analyst, default_ws.id), "Grounded")
    assert ratings.get_or_create_eval_set(auth.access(db, admin, default_ws.id), "Grounded")["id"] == es["id"]
    ratings.upsert_ratings(auth.access(db, analyst, default_ws.id), es["id"], [{"trace_id": tid, "value": "up"}])
    ratings.upsert_ratings(
        auth.access(db, analyst, default_ws.id), es["id"], [{"trace_id": tid, "value": "down", "note": "n"}]
    )
    ratings.upsert_ratings(auth.access(db, admin, default_ws.id), es["id"], [{"trace_id": tid, "value": "neutral"}])
    got = {r["rater"]: r["value"] for r in ratings.ratings_for_trace(auth.access(db, admin, default_ws.id), tid)}
    assert got == {"ana": "fail", "admin": "neutral"}
    assert (
        ratings.upsert_ratings(auth.access(db, admin, default_ws.id), es["id"], [{"trace_id": "other-ws", "value": 1}])
        == 0
    )
