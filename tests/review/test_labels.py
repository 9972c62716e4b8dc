"""The human label: an analyst's resolution wins, else the majority; ties are left out."""

import pytest

from forge import auth
from forge.review.labels import human_labels
from forge.store import ratings as rating_store
from forge.store import traces as store
from forge.traces.model import normalize_trace


@pytest.fixture
def rated(db, admin, default_ws):
    access = auth.access(db, admin, default_ws.id, "edit")
    ids = store.upsert_traces(access, [normalize_trace({"id": f"t{i}", "output": str(i)}) for i in range(4)])["ids"]
    es = rating_store.get_or_create_eval_set(access, "Grounded")
    votes = {  # trace: (ann, bob, cid)
        0: ("pass", "pass", "fail"),
        1: ("fail", "pass", "neutral"),
        2: ("fail", "fail", "pass"),
        3: ("neutral", "neutral", "neutral"),
    }
    rows = [
        {"trace_id": ids[t], "rater": rater, "value": value, "note": None}
        for t, values in votes.items()
        for rater, value in zip(("ann", "bob", "cid"), values, strict=True)
    ]
    rating_store.upsert_ratings(access, es["id"], rows)
    return access, es["id"], ids


def test_majority_and_ties(rated):
    access, es, ids = rated
    labels = human_labels(access, es)
    assert labels.labels == {ids[0]: "pass", ids[2]: "fail"}
    assert labels.ties == [ids[1]]  # one pass, one fail, neutral does not count
    assert ids[3] not in labels.labels  # only neutral ratings: no label


def test_a_resolution_wins_and_can_be_dropped(rated):
    access, es, ids = rated
    rating_store.resolve(access, es, ids[1], "fail", "checked the source", "resolved")
    rating_store.resolve(access, es, ids[0], "fail", "the raters missed the invented price", "label-wrong")
    labels = human_labels(access, es)
    assert labels.labels[ids[1]] == "fail" and labels.labels[ids[0]] == "fail"
    assert sorted(labels.resolved) == sorted([ids[0], ids[1]])
    rating_store.unresolve(access, es, ids[0])
    assert human_labels(access, es).labels[ids[0]] == "pass"


def test_viewers_cannot_resolve_and_outsiders_see_nothing(rated, db, admin, default_ws, outsider):
    access, es, ids = rated
    viewer = auth.create_user(db, admin, "vera", "a-long-passphrase-1", "viewer", "Vera")
    auth.add_member(db, admin, default_ws.id, "vera")
    with pytest.raises(auth.PermissionDenied):
        rating_store.resolve(auth.access(db, viewer, default_ws.id), es, ids[1], "pass", None, "resolved")
    with pytest.raises(auth.PermissionDenied):
        auth.access(db, outsider, default_ws.id)
    # A resolution names a trace of this workspace only.
    other = auth.create_workspace(db, admin, "other")
    other_access = auth.access(db, admin, other.id, "edit")
    rating_store.resolve(other_access, es, ids[1], "pass", None, "resolved")
    assert rating_store.resolutions(access, es) == {}
