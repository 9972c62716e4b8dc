"""The review page: rate, undo, back, skip, note, filters, blind mode, viewers; saved in the database."""

from __future__ import annotations

import pytest

from forge import auth
from forge.review import eval_sets
from forge.store import ratings as rating_store
from forge.store.traces import upsert_traces

PAGE = "pages/review.py"


def _traces(n: int = 6) -> list[dict]:
    return [
        {
            "source": "file",
            "source_id": f"t{i}",
            "name": f"support-{i}",
            # t0 is the oldest, t{n-1} the newest
            "timestamp": f"2026-10-{1 + i:02d}T08:00:00Z",
            "input": {"question": f"question {i}"},
            "output": f"**answer** number {i}" + (" about a refund" if i % 2 == 0 else ""),
            "input_text": f"question {i}",
            "output_text": f"answer number {i}" + (" about a refund" if i % 2 == 0 else ""),
            "tags": ["prod"] if i < 4 else ["staging"],
            "steps": [],
        }
        for i in range(n)
    ]


@pytest.fixture
def seeded(db, admin, default_ws, analyst):
    access = auth.access(db, admin, default_ws.id, "edit")
    ids = upsert_traces(access, _traces())["ids"]
    es = eval_sets.create(access, "Grounded", "answers only from the documents")
    return access, es, ids


def _stored(access, es) -> dict[tuple[str, str], dict]:
    return {(r["rater"], r["trace_id"]): r for r in rating_store.set_ratings(access, es["id"])}


def _shown(at) -> str:
    """The trace id the page shows now (from its caption)."""
    return next(c.value.split("id ")[-1] for c in at.caption if " · id " in c.value or c.value.startswith("id "))


def _click(at, key: str):
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def test_rate_saves_at_once_and_advances_newest_first(seeded, app_as):
    access, es, ids = seeded
    at = app_as("ana", page=PAGE)
    assert not at.exception
    assert _shown(at) == ids[5]  # unrated, newest first
    _click(at, "review_pass")
    assert _stored(access, es)[("ana", ids[5])]["value"] == "pass"
    assert _shown(at) == ids[4]
    _click(at, "review_fail")
    assert _stored(access, es)[("ana", ids[4])]["value"] == "fail"
    assert next(m.value for m in at.metric if m.label == "This session") == "2"
    assert next(m.value for m in at.metric if m.label == "Left in this queue") == "4"
    assert next(m.value for m in at.metric if m.label == "👍 Pass") == "1 / 20"


def test_undo_back_skip_and_note(seeded, app_as):
    access, es, ids = seeded
    at = app_as("ana", page=PAGE)
    _click(at, "review_pass")  # ids[5]
    _click(at, "review_undo")
    assert ("ana", ids[5]) not in _stored(access, es)
    assert _shown(at) == ids[5]  # undo shows the trace again

    at.text_area(key=f"review_note_{ids[5]}").input("cites the manual").run()
    _click(at, "review_fail")
    assert _stored(access, es)[("ana", ids[5])]["note"] == "cites the manual"
    assert _shown(at) == ids[4]

    _click(at, "review_skip")  # ids[4] left unrated
    assert _shown(at) == ids[3]
    assert ("ana", ids[4]) not in _stored(access, es)

    _click(at, "review_back")
    assert _shown(at) == ids[4]
    _click(at, "review_back")
    assert _shown(at) == ids[5]
    assert any("Your rating" in i.value and "fail" in i.value for i in at.info)
    _click(at, "review_pass")  # the earlier rating is changed, then on to the next of the trail
    assert _stored(access, es)[("ana", ids[5])]["value"] == "pass"
    assert _shown(at) == ids[4]
    # A note on a rated trace is saved the moment it is given.
    _click(at, "review_back")
    at.text_area(key=f"review_note_{ids[5]}").input("changed my mind").run()
    assert _stored(access, es)[("ana", ids[5])]["note"] == "changed my mind"


def test_filters_narrow_the_queue(seeded, app_as):
    access, es, ids = seeded
    at = app_as("ana", page=PAGE)
    at.text_input(key="review_text").input("refund").run()
    assert not at.exception
    assert next(m.value for m in at.metric if m.label == "Left in this queue") == "3"
    assert _shown(at) == ids[4]
    at.multiselect(key="review_tags").set_value(["staging"]).run()
    assert _shown(at) == ids[4]
    assert next(m.value for m in at.metric if m.label == "Left in this queue") == "1"
    _click(at, "review_neutral")
    assert any("Nothing left in this queue" in s.value for s in at.success)


def test_oldest_order_and_history_jump(seeded, app_as):
    access, es, ids = seeded
    at = app_as("ana", page=PAGE)
    at.selectbox(key="review_order").select("oldest").run()
    assert _shown(at) == ids[0]
    _click(at, "review_pass")
    _click(at, "review_fail")
    assert _shown(at) == ids[2]
    at.selectbox(key="review_history_pick").select(ids[0]).run()
    assert not at.exception
    assert _shown(at) == ids[0]


def test_blind_mode_hides_other_ratings_until_rated(seeded, db, admin, default_ws, app_as):
    access, es, ids = seeded
    eval_sets.update(access, es["id"], blind=True, raters_per_trace=2)
    rating_store.upsert_ratings(
        access, es["id"], [{"trace_id": ids[5], "rater": "bob", "value": "fail", "note": "made up a price"}]
    )
    at = app_as("ana", page=PAGE)
    assert _shown(at) == ids[4]  # fewest raters first: the trace bob rated waits
    for _ in range(5):  # ids 4..0, then the one bob rated
        _click(at, "review_skip")
    assert _shown(at) == ids[5]
    assert any("Blind review" in c.value for c in at.caption)
    assert not any("made up a price" in str(df.value) for df in at.dataframe)
    _click(at, "review_pass")
    _click(at, "review_back")
    assert any("made up a price" in str(df.value.to_dict()) for df in at.dataframe)


def test_viewers_read_but_cannot_rate(seeded, db, admin, default_ws, app_as):
    access, es, ids = seeded
    auth.create_user(db, admin, "vera", "correct horse battery staple", "viewer", "Vera")
    auth.add_member(db, admin, default_ws.id, "vera")
    at = app_as("vera", page=PAGE)
    assert not at.exception
    assert any("cannot rate" in i.value for i in at.info)
    assert at.button(key="review_pass").disabled and at.button(key="review_fail").disabled
    assert rating_store.set_ratings(access, es["id"]) == []


def test_no_eval_set_says_where_to_start(db, admin, default_ws, app_as):
    at = app_as("admin", page=PAGE)
    assert not at.exception
    assert any("No eval set yet" in i.value for i in at.info)


def test_demo_data_renders_and_rates_in_every_order(db, admin, default_ws, app_as):
    from forge import demo

    demo.load_demo(db, admin, default_ws.id)
    access = auth.access(db, admin, default_ws.id)
    es = rating_store.find_eval_set(access, demo.DEMO_EVAL_SET)
    at = app_as("admin", page=PAGE)
    assert not at.exception
    for order in ("newest", "oldest", "random", "informative"):
        at.selectbox(key="review_order").select(order).run()
        assert not at.exception, order
        shown = _shown(at)
        _click(at, "review_fail")
        assert _stored(access, es)[("admin", shown)]["value"] == "fail"
