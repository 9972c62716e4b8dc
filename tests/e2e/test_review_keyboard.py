"""Rating with the keyboard only, in a real browser (Playwright + Debian chromium).

A fresh database gets an analyst, eight traces and an eval set; ``streamlit run app.py`` serves it; the
analyst logs in and, on the review page, rates five traces with keys alone (1 / 2 / 3, n + typing a note,
k to go back and change a rating). The server is then stopped and the stored ratings are read back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.test_journey import CHROMIUM, _free_port, _settle, _wait_idle

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "keyboard-analyst-2026"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)"),
]


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


def _serve(db_path: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "FORGE_DB": str(db_path), "FORGE_COOKIE_KEY": "e2e-cookie-key-" + "k" * 32}
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail("streamlit did not start: " + log_path.read_text()[-2000:])


def _shown(page) -> str:
    """The id of the trace the review page shows (the last part of its caption)."""
    caption = page.locator('[data-testid="stCaptionContainer"]', has_text=" · id ").first
    return caption.inner_text().rsplit("id ", 1)[-1].strip()


def _press(page, key: str, expect_change_from: str | None = None) -> None:
    page.keyboard.press(key)
    _wait_idle(page)
    if expect_change_from is not None:
        page.wait_for_function(
            "old => { const c = [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
            ".find(e => e.innerText.includes(' · id ')); return c && !c.innerText.endsWith(old); }",
            arg=expect_change_from,
        )


def test_rate_five_traces_with_the_keyboard_only(tmp_path):
    from playwright.sync_api import sync_playwright

    db_path = tmp_path / "keys.duckdb"
    ids, set_id = _seed(db_path)
    proc, url = _serve(db_path, tmp_path / "streamlit.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(30_000)
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

            assert _shown(page) == ids[7]  # unrated, newest first
            _press(page, "1", expect_change_from=ids[7])  # pass
            assert _shown(page) == ids[6]
            _press(page, "2", expect_change_from=ids[6])  # fail
            _press(page, "3", expect_change_from=ids[5])  # neutral
            # n jumps into the note box; typing there does not rate; Tab leaves it, 1 rates with the note.
            _press(page, "n")
            page.wait_for_function("() => document.activeElement && document.activeElement.tagName === 'TEXTAREA'")
            page.keyboard.type("cites the 2019 manual 123")
            page.keyboard.press("Tab")
            _wait_idle(page)
            assert _shown(page) == ids[4]
            _press(page, "1", expect_change_from=ids[4])
            _press(page, "2", expect_change_from=ids[3])  # the fifth
            assert _shown(page) == ids[2]
            # k goes back; 1 changes that rating (fail -> pass) and moves on.
            _press(page, "k", expect_change_from=ids[2])
            assert _shown(page) == ids[3]
            _press(page, "1", expect_change_from=ids[3])
            assert page.locator('[data-testid="stException"]').count() == 0
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)

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
