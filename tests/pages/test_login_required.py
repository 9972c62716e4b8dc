"""Every page requires login: through the app, and even when a page file is run on its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from forge import demo
from tests.pages.conftest import ROOT, new_app

PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))
SECRET = "Ridgeline Guarantee"  # words that appear in the demo traces


def _all_text(at: AppTest) -> str:
    parts = []
    for kind in (
        "markdown",
        "caption",
        "title",
        "header",
        "subheader",
        "text",
        "metric",
        "info",
        "warning",
        "error",
        "success",
        "code",
        "json",
    ):
        for el in at.get(kind):
            parts.append(str(getattr(el, "value", "") or getattr(el, "body", "")))
    for df in at.dataframe:
        parts.append(df.value.to_string())
    return "\n".join(parts)


def test_there_are_pages_to_check():
    assert {"pages/home.py", "pages/traces.py", "pages/admin.py", "pages/playground.py"} <= set(PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_page_file_alone_shows_nothing_without_login(db, admin, default_ws, page):
    """Streamlit can run a page file by itself (legacy folder mode): its own guard must stop it."""
    demo.load_demo(db, admin, default_ws.id)
    at = AppTest.from_file(str(ROOT / page), default_timeout=30).run()
    assert not at.exception
    stops = [m.value.lower() for m in [*at.warning, *at.error]]
    assert any("log in" in m or "only an admin" in m for m in stops), _all_text(at)[:500]
    assert SECRET not in _all_text(at)
    assert not at.dataframe and not at.get("metric")


@pytest.mark.parametrize("page", PAGES)
def test_before_login_the_app_offers_only_the_login_form_and_no_page(db, admin, default_ws, page):
    demo.load_demo(db, admin, default_ws.id)
    at = new_app().run()
    assert not at.exception
    assert [ti.label for ti in at.text_input] == ["User name", "Password"]
    assert SECRET not in _all_text(at)
    assert not at.dataframe and not at.get("metric")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(page)  # no page script is registered until someone logs in


def test_secret_words_are_really_in_the_demo_data():
    assert SECRET in Path(demo.DEMO_FILE).read_text()
