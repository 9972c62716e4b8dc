"""Rating with the keyboard only, in a real browser (Playwright + Debian chromium).

A fresh database gets an analyst, eight traces and an eval set; ``python -m forge.ui.server`` (what
`make run` starts) serves it; the analyst logs in and, on the review page, rates five traces with keys
alone (1 / 2 / 3, n + typing a note, k to go back and change a rating). The server is then stopped and
the stored ratings are read back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import NEEDS_CHROMIUM, new_page, review_key, review_shown, serve
from tests.e2e.browser import settle as _settle
from tests.e2e.browser import wait_idle as _wait_idle

PASSWORD = "keyboard-analyst-2026"

pytestmark = [pytest.mark.e2e, NEEDS_CHROMIUM]


def _seed(path: Path) -> tuple[list[str], str]:
    """An admin, the analyst 'kim', eight traces (t7 newest) and the eval set 'Grounded'."""
    from forge import auth
    from forge.review import eval_sets
    from forge.store import connect
    from forge.store.traces import upsert_traces

    db = connect(path)
    admin = auth.create_first_admin(db, "ada", "admin-passphrase-2026", "Ada")
    ws = auth.resolve_workspace(db, admin)
    auth.create_user(db, admin, "kim", PASSWORD, "analyst", "Kim")
    auth.add_member(db, admin, ws.id, "kim")
    access = auth.access(db, admin, ws.id, "edit")
    ids = upsert_traces(
        access,
        [
            {
                "source": "file",
                "source_id": f"t{i}",
                "name": f"support-{i}",
                "timestamp": f"2026-10-{1 + i:02d}T08:00:00Z",
                "input": f"Question number {i}?",
                "output": f"Answer **number {i}**.",
                "input_text": f"Question number {i}?",
                "output_text": f"Answer number {i}.",
            }
            for i in range(8)
        ],
    )["ids"]
    es = eval_sets.create(access, "Grounded", "answers only from the documents")
    db.close()
    return ids, es["id"]


def test_rate_five_traces_with_the_keyboard_only(tmp_path, browser):
    db_path = tmp_path / "keys.duckdb"
    ids, set_id = _seed(db_path)
    with serve(db_path, tmp_path / "streamlit.log") as url:
        page = new_page(browser)
        page.goto(url)
        _settle(page)
        page.get_by_role("heading", name="Log in").wait_for()
        # Log in by keyboard too: type into the focused field, Tab to the next, Enter submits.
        page.get_by_label("User name", exact=True).focus()
        page.keyboard.type("kim")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Log out").wait_for()
        page.goto(f"{url}/rate-traces")
        _settle(page)
        page.get_by_role("heading", name="Review").wait_for()
        assert page.locator('[data-testid="stException"]').count() == 0
        page.evaluate("() => document.activeElement && document.activeElement.blur()")  # no widget focused

        assert review_shown(page) == ids[7]  # unrated, newest first
        review_key(page, "1", leaving=ids[7])  # pass
        assert review_shown(page) == ids[6]
        review_key(page, "2", leaving=ids[6])  # fail
        review_key(page, "3", leaving=ids[5])  # neutral
        # n jumps into the note box; typing there does not rate; Tab leaves it, 1 rates with the note.
        review_key(page, "n")
        page.wait_for_function("() => document.activeElement && document.activeElement.tagName === 'TEXTAREA'")
        page.keyboard.type("cites the 2019 manual 123")
        page.keyboard.press("Tab")
        _wait_idle(page)
        assert review_shown(page) == ids[4]
        review_key(page, "1", leaving=ids[4])
        review_key(page, "2", leaving=ids[3])  # the fifth
        assert review_shown(page) == ids[2]
        # k goes back; 1 changes that rating (fail -> pass) and moves on.
        review_key(page, "k", leaving=ids[2])
        assert review_shown(page) == ids[3]
        review_key(page, "1", leaving=ids[3])
        # The arrow keys go back and forward too; their buttons are out of sight (one shortcut per button).
        now = review_shown(page)
        review_key(page, "ArrowLeft", leaving=now)
        assert review_shown(page) == ids[3]
        review_key(page, "ArrowRight", leaving=ids[3])
        assert review_shown(page) == now
        twin = page.locator(".st-key-review_back_arrow")
        assert twin.evaluate("e => e.getBoundingClientRect().right") < 0  # not drawn in the page
        assert page.get_by_role("button", name="← Back").is_visible()
        assert page.locator('[data-testid="stException"]').count() == 0

    from forge.store import connect

    db = connect(db_path)
    rows = db.fetchall("SELECT trace_id, value, note FROM ratings WHERE eval_set_id = ? AND rater = 'kim'", [set_id])
    db.close()
    got = {trace_id: (value, note) for trace_id, value, note in rows}
    assert got == {
        ids[7]: ("pass", None),
        ids[6]: ("fail", None),
        ids[5]: ("neutral", None),
        ids[4]: ("pass", "cites the 2019 manual 123"),
        ids[3]: ("pass", None),
    }
