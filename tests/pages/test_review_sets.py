"""The eval sets page: create, criterion versions, archive, the agreement panel and resolving; the traces
page's "Add to eval set"."""

from __future__ import annotations

import pytest

from forge import auth
from forge.review import eval_sets
from forge.review.labels import human_labels
from forge.store import ratings as rating_store
from forge.store.traces import upsert_traces

PAGE = "pages/eval_sets.py"


@pytest.fixture
def rated(db, admin, default_ws, analyst):
    access = auth.access(db, admin, default_ws.id, "edit")
    traces = [
        {"source": "file", "source_id": f"t{i}", "name": f"support-{i}", "input_text": f"q{i}", "output_text": f"a{i}"}
        for i in range(6)
    ]
    ids = upsert_traces(access, traces)["ids"]
    es = eval_sets.create(access, "Grounded", "no invented facts", raters_per_trace=3)
    votes = {  # ann, bob, cid
        0: ("pass", "pass", "pass"),
        1: ("fail", "fail", "fail"),
        2: ("pass", "fail", "pass"),
        3: ("pass", "pass", "pass"),
        4: ("fail", "fail", "pass"),
    }
    rows = [
        {"trace_id": ids[t], "rater": rater, "value": v, "note": f"{rater} on {t}"}
        for t, vs in votes.items()
        for rater, v in zip(("ann", "bob", "cid"), vs, strict=True)
    ]
    rating_store.upsert_ratings(access, es["id"], rows)
    return access, es, ids


def test_agreement_panel_shows_pairs_fleiss_and_disagreements_then_resolves(rated, app_as):
    access, es, ids = rated
    at = app_as("admin", page=PAGE)
    assert not at.exception
    assert next(m.value for m in at.metric if m.label == "Raters") == "3"
    pairs = next(df.value for df in at.dataframe if "Rater A" in df.value.columns)
    assert len(pairs) == 3 and set(pairs["Shared traces"]) == {5}
    ann_bob = pairs[(pairs["Rater A"] == "ann") & (pairs["Rater B"] == "bob")].iloc[0]
    assert ann_bob["Agreement"] == "80%"
    fleiss = next(m.value for m in at.metric if m.label == "Fleiss' kappa")
    assert fleiss != "—" and -1 <= float(fleiss) <= 1
    markdown = " ".join(m.value for m in at.markdown)
    assert "Disagreements** (2)" in markdown
    assert "bob on 2" in " ".join(c.value for c in at.caption)  # notes side by side

    at.segmented_control(key=f"eval_sets_res_{ids[2]}").set_value("fail").run()
    at.text_input(key=f"eval_sets_res_note_{ids[2]}").input("the price is invented").run()
    at.button(key=f"eval_sets_res_btn_{ids[2]}").click().run()
    assert not at.exception
    assert human_labels(access, es["id"]).labels[ids[2]] == "fail"  # the resolution beats the majority
    assert any("Resolved: fail" in s.value for s in at.success)


def test_create_edit_criterion_and_archive(db, admin, default_ws, app_as):
    access = auth.access(db, admin, default_ws.id, "edit")
    at = app_as("admin", page=PAGE)
    assert any("No eval set yet" in i.value for i in at.info)
    at.text_input(key="eval_sets_new_name").input("Polite")
    at.text_area(key="eval_sets_new_criterion").input("never rude")
    at.button(key="FormSubmitter:eval_sets_new-Create eval set").click().run()
    assert not at.exception
    es = rating_store.find_eval_set(access, "Polite")
    assert es and es["criterion"] == "never rude" and es["target_per_class"] == 20

    at.text_area(key=f"eval_sets_criterion_{es['id']}").input("never rude, always thanks the customer")
    at.text_input(key=f"eval_sets_name_{es['id']}").input("Polite replies")
    at.button(key=f"FormSubmitter:eval_sets_settings_{es['id']}-Save").click().run()
    assert not at.exception
    es = rating_store.get_eval_set(access, es["id"])
    assert es["name"] == "Polite replies" and es["criterion_version"] == 2

    at.button(key="eval_sets_archive").click().run()
    assert not at.exception
    assert rating_store.get_eval_set(access, es["id"])["archived"]
    assert any("No eval set yet" in i.value for i in at.info)  # hidden from the list
    at.toggle(key="eval_sets_show_archived").set_value(True).run()
    assert "archived" in list(at.dataframe[0].value["Archived"])


def test_viewer_reads_the_panel_but_cannot_resolve_or_create(rated, db, admin, default_ws, app_as):
    auth.create_user(db, admin, "vera", "correct horse battery staple", "viewer", "Vera")
    auth.add_member(db, admin, default_ws.id, "vera")
    at = app_as("vera", page=PAGE)
    assert not at.exception
    assert next(m.value for m in at.metric if m.label == "Raters") == "3"
    assert not [b for b in at.button if b.key and b.key.startswith("eval_sets_res_btn_")]
    assert not [t for t in at.text_input if t.key == "eval_sets_new_name"]


def test_blind_set_hides_disagreements_the_viewer_did_not_rate(rated, db, app_as):
    access, es, ids = rated
    eval_sets.update(access, es["id"], blind=True)
    at = app_as("ana", page=PAGE)  # ana rated nothing
    assert not at.exception
    assert any("hidden (blind review)" in c.value for c in at.caption)
    assert "bob on 2" not in " ".join(c.value for c in at.caption)


def test_traces_page_adds_the_filtered_traces_to_a_set(rated, app_as):
    access, es, ids = rated
    at = app_as("ana", page="pages/traces.py")
    assert not at.exception
    at.text_input(key="traces_text").input("q1").run()
    at.button(key="traces_add_go").click().run()
    assert not at.exception
    assert any("1 trace added" in s.value for s in at.success)
    es = rating_store.get_eval_set(access, es["id"])
    assert es["scoped"]
    at.radio(key="traces_add_what").set_value("rows").run()
    at.multiselect(key="traces_add_rows").set_value([ids[1]]).run()
    at.button(key="traces_add_go").click().run()
    assert any("0 traces added" in s.value for s in at.success)  # already in the queue


def test_a_new_criterion_marks_earlier_ratings_and_requeues_them(rated, db, admin, default_ws, app_as):
    access, es, ids = rated
    rating_store.rate(access, es["id"], ids[5], "pass", "old criterion")  # admin, under v1
    eval_sets.edit_criterion(access, es["id"], "no invented facts, prices or dates")
    at = app_as("admin", page=PAGE)
    assert any("made under an earlier criterion" in w.value for w in at.warning)
    at.button(key="eval_sets_requeue").click().run()
    assert not at.exception
    assert rating_store.my_rating(access, es["id"], ids[5])["recheck"]
    # On the review page the re-queued trace comes first, marked as rated under an earlier criterion.
    at.switch_page("pages/review.py").run()
    assert not at.exception
    assert any("rated under an earlier criterion" in i.value for i in at.info)
