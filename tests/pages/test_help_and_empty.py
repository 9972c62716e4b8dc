"""Every page of an empty workspace: a short help at the top, a message and a link to the next step, no traceback."""

from __future__ import annotations

import pytest

from forge import auth
from forge.ui import navigation
from tests.conftest import PASSWORD

PAGES = [spec.path for spec in navigation.PAGES]  # every page of the menu


def _open(app_as, user: str, page: str):
    at = app_as(user)
    if page != "pages/home.py":
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", PAGES)
def test_each_page_has_help_at_the_top_and_no_traceback_when_empty(db, app_as, admin, default_ws, page):
    at = _open(app_as, "admin", page)
    if page == "pages/review.py":  # its help is the `?` panel of shortcuts, a popover beside the title
        (panel,) = at.get("popover")
        assert panel.proto.popover.label == "? Help & shortcuts" and any("Shortcuts" in m.value for m in panel.markdown)
        return
    helps = [e for e in at.expander if e.label == "What is this page for?"]
    assert len(helps) == 1 and helps[0].markdown[0].value.strip()


def test_empty_traces_page_links_to_import_and_home(db, app_as, admin, default_ws):
    at = _open(app_as, "admin", "pages/traces.py")
    assert any("No traces yet" in i.value for i in at.info)
    assert {link.label for link in at.get("page_link")} >= {"Go to Import", "Go to Home (demo data)"}


def test_a_viewer_on_empty_traces_is_told_who_can_import(db, app_as, admin, default_ws):
    auth.create_user(db, admin, "vera", PASSWORD, "viewer")
    auth.add_member(db, admin, default_ws.id, "vera")
    at = _open(app_as, "vera", "pages/traces.py")
    assert "Go to Import" not in [link.label for link in at.get("page_link")]  # not in a viewer's menu
    assert any("cannot import" in c.value for c in at.caption)
    home = _open(app_as, "vera", "pages/home.py")
    assert any("cannot import" in i.value for i in home.info)


def test_no_runs_links_to_the_playground_and_filters_say_loosen(db, app_as, admin, default_ws):
    at = _open(app_as, "admin", "pages/runs.py")
    assert any("No runs yet" in i.value for i in at.info)
    assert "Go to Playground" in [link.label for link in at.get("page_link")]
    at.checkbox(key="runs_errors").check().run()
    assert any("No run matches these filters" in i.value for i in at.info)


def test_home_with_traces_but_no_eval_set_says_what_an_eval_set_is(db, app_as, admin, default_ws):
    from forge.store.traces import upsert_traces

    upsert_traces(auth.access(db, admin, default_ws.id), [{"source": "file", "source_id": "a", "output_text": "x"}])
    at = _open(app_as, "admin", "pages/home.py")
    assert any("No eval sets yet" in c.value for c in at.caption)


# The pages that need something an empty workspace lacks: what they say, and where they send the user.
NEXT_STEP = {
    "pages/review.py": ("eval set", "Go to Eval sets"),
    "pages/eval_sets.py": ("No eval set yet. Create one", None),
    "pages/evals.py": ("eval set", "Go to Eval sets"),
    "pages/generate.py": ("eval set", "Go to Eval sets"),
    "pages/matrix.py": ("eval set", "Go to Eval sets"),
}


@pytest.mark.parametrize("page", sorted(NEXT_STEP))
def test_pages_that_need_an_eval_set_say_so_and_link_the_next_step(db, app_as, admin, default_ws, page):
    message, link = NEXT_STEP[page]
    at = _open(app_as, "admin", page)
    shown = [e.value for e in (*at.info, *at.caption, *at.warning, *at.markdown)]
    assert any(message.lower() in text.lower() for text in shown), shown
    if link:
        assert link in [lnk.label for lnk in at.get("page_link")]
