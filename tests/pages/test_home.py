"""Home page: workspace figures, next step, the demo data button."""

from __future__ import annotations

import pytest

from forge import auth, demo
from forge.store.summary import workspace_summary


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _load_demo(at):
    at.button(key="home_load_demo").click().run()
    assert not at.exception, at.exception
    return at


def test_empty_workspace_suggests_bringing_in_traces(app_as, default_ws):
    at = app_as("admin")
    assert not at.exception
    assert _metrics(at)["Traces"] == "0"
    assert "Next: Bring in some traces" in [s.value for s in at.subheader]
    # The step links to the page that does it.
    assert [(link.label, link.proto.page) for link in at.get("page_link")][-1][0] == "Go to Import"


def test_the_next_step_links_to_the_page_that_does_it(db, app_as, admin, default_ws):
    from forge.ui.navigation import PAGES

    demo.load_demo(db, admin, default_ws.id)
    at = app_as("admin")
    assert not at.exception
    step = workspace_summary(auth.access(db, admin, default_ws.id)).next_step
    assert step.title == "Create evals"  # the demo is rated: evals come next
    shown = [s.value for s in at.subheader if s.value.startswith("Next:")]
    links = [link.proto.page for link in at.get("page_link") if link.label.startswith("Go to")]
    url_path = next(p.url_path for p in PAGES if p.path == step.page)
    assert shown == ["Next: Create evals"] and links and links[-1].endswith(url_path)


def test_a_viewer_is_not_sent_to_a_page_they_cannot_use(db, app_as, admin, default_ws):
    auth.create_user(db, admin, "vera", "correct horse battery staple", "viewer", "Vera Viewer")
    auth.add_member(db, admin, default_ws.id, "vera")
    at = app_as("vera")
    assert not [s.value for s in at.subheader if s.value.startswith("Next:")]


def test_counts_use_thousands_separators(db, app_as, admin, default_ws):
    from forge.store.traces import upsert_traces

    rows = [{"source": "file", "source_id": f"r{i}", "input": f"q{i}", "output": "a"} for i in range(1234)]
    upsert_traces(auth.access(db, admin, default_ws.id), rows)
    at = app_as("admin")
    assert _metrics(at)["Traces"] == "1,234"


def test_pass_and_fail_are_counted_per_eval_set(db, app_as, admin, default_ws):
    from forge.review.ratings import get_or_create_eval_set, upsert_ratings
    from forge.store.traces import upsert_traces

    upsert_traces(
        auth.access(db, admin, default_ws.id),
        [{"source": "file", "source_id": f"r{i}", "input": "q", "output": "a"} for i in range(3)],
    )
    ids = [r[0] for r in db.fetchall("SELECT id FROM traces ORDER BY source_id")]
    concise = get_or_create_eval_set(auth.access(db, admin, default_ws.id), "Concise", "One sentence")
    polite = get_or_create_eval_set(auth.access(db, admin, default_ws.id), "Polite", "Says please")
    upsert_ratings(
        auth.access(db, admin, default_ws.id), concise["id"], [{"trace_id": t, "value": "pass"} for t in ids]
    )
    upsert_ratings(auth.access(db, admin, default_ws.id), polite["id"], [{"trace_id": ids[0], "value": "fail"}])
    at = app_as("admin")
    table = at.dataframe[0].value.set_index("Eval set")
    assert (table.loc["Concise", "Pass"], table.loc["Concise", "Fail"]) == (3, 0)
    assert (table.loc["Polite", "Pass"], table.loc["Polite", "Fail"]) == (0, 1)
    assert not any("ratings" in m.label.lower() for m in at.metric)  # no total summed across sets


def test_load_demo_data_fills_the_workspace_and_counts_update(db, app_as, admin, default_ws):
    at = _load_demo(app_as("admin"))
    figures = _metrics(at)
    assert int(figures["Traces"]) >= 60
    assert figures["Eval sets"] == "1"
    assert any("Demo data loaded: 72 new" in s.value for s in at.success)
    sets = at.dataframe[0].value
    assert list(sets["Eval set"]) == [demo.DEMO_EVAL_SET] and list(sets["Ratings"]) == [36]
    assert sets["Pass"][0] > 10 and sets["Fail"][0] > 10
    summary = workspace_summary(auth.access(db, admin, default_ws.id))
    assert summary.traces == int(figures["Traces"])
    assert summary.rated_traces * 2 in range(summary.traces - 6, summary.traces + 7)  # about half
    # Loading again updates the same traces, never duplicates them.
    at = _load_demo(at)
    assert _metrics(at)["Traces"] == figures["Traces"]
    assert any("0 new, 72 updated" in s.value for s in at.success)


def test_viewer_sees_the_data_but_cannot_load_demo_data(db, app_as, admin, default_ws):
    auth.create_user(db, admin, "vera", "correct horse battery staple", "viewer", "Vera Viewer")
    auth.add_member(db, admin, default_ws.id, "vera")
    demo.load_demo(db, admin, default_ws.id)
    at = app_as("vera")
    assert int(_metrics(at)["Traces"]) >= 60  # a viewer can read
    button = at.button(key="home_load_demo")
    assert button.disabled
    assert "viewer" in button.help
    # The forge call behind the button refuses a viewer too.
    viewer = auth.get_user(db, "vera")
    with pytest.raises(auth.PermissionDenied):
        demo.load_demo(db, viewer, default_ws.id)


def test_outsider_sees_only_their_own_empty_workspace(db, app_as, admin, default_ws, outsider):
    demo.load_demo(db, admin, default_ws.id)
    at = app_as("otto")
    assert [t.value for t in at.title] == ["Workspace · otto-space"]
    assert _metrics(at)["Traces"] == "0"
    assert at.sidebar.selectbox(key="forge_workspace_pick").options == ["otto-space"]
    # Forcing the other workspace's id into the session does not reveal it.
    at.session_state["forge_workspace_id"] = default_ws.id
    at.run()
    assert not at.exception
    assert _metrics(at)["Traces"] == "0"


def test_workspace_picker_switches_what_home_shows(db, app_as, admin, default_ws):
    auth.create_workspace(db, admin, "research")
    demo.load_demo(db, admin, default_ws.id)
    at = app_as("admin")
    assert [t.value for t in at.title] == ["Workspace · default"]
    at.sidebar.selectbox(key="forge_workspace_pick").select("research").run()
    assert [t.value for t in at.title] == ["Workspace · research"]
    assert _metrics(at)["Traces"] == "0"
