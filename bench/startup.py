"""The app's cold start and login in a real browser (targets: <= 3 s and <= 1 s).

Cold start: from launching the server (``python -m forge.ui.server``, what ``make run``
starts) to the login page rendered in headless chromium. Login: from clicking "Log in"
to the home page rendered. The database is filled first (an admin and the demo data),
so home shows real counts. Each run starts a fresh server process; chromium is already
running (its own start is not the app's).

    .venv/bin/python -m bench.startup [--runs N] [--compare]

``--compare`` also times ``streamlit run app.py`` (the app without the API beside it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, free_port  # the browser tests' chromium, launched the same way

ROOT = Path(__file__).resolve().parent.parent
COLD_TARGET_S = 3.0
LOGIN_TARGET_S = 1.0
PASSWORD = "bench-startup-password"
LAUNCHERS = {
    "forge.ui.server": [sys.executable, "-m", "forge.ui.server"],
    "streamlit run": [sys.executable, "-m", "streamlit", "run", "app.py"],
}


def _seed(db_path: Path) -> None:
    from forge import auth, demo
    from forge.store import Database

    db = Database(str(db_path))
    try:
        admin = auth.create_first_admin(db, "admin", PASSWORD, "Bench Admin")
        demo.load_demo(db, admin, auth.resolve_workspace(db, admin).id)
    finally:
        db.close()


def _wait_health(url: str, deadline: float) -> float:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as resp:
                if resp.status == 200:
                    return time.perf_counter()
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"the server at {url} did not answer within the deadline")


def _wait_idle(page) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)


def one_run(browser, launcher: str, db_path: Path, log_path: Path) -> dict[str, float]:
    """Start a server, render the login page, log in; the timings in seconds."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "FORGE_DB": str(db_path), "FORGE_COOKIE_KEY": "bench-cookie-key-" + "b" * 32}
    flags = ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]
    flags += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    with open(log_path, "a") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(LAUNCHERS[launcher] + flags, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            t_health = _wait_health(url, time.monotonic() + 60)
            page.goto(url)
            page.get_by_role("heading", name="Log in").wait_for(state="visible")
            page.get_by_label("User name", exact=True).wait_for(state="visible")
            t_login_page = time.perf_counter()
            # The cookie component reruns the script once after it mounts: let that pass before typing.
            try:
                page.wait_for_selector('iframe[title*="cookie_manager"]', state="attached", timeout=10_000)
            except Exception:  # noqa: BLE001 - no cookie component on this page: nothing to wait for
                pass
            page.wait_for_timeout(500)
            _wait_idle(page)
            page.get_by_label("User name", exact=True).fill("admin")
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_label("Password", exact=True).press("Tab")
            t_click = time.perf_counter()
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("heading", name="Workspace · default").wait_for(state="visible")
            page.locator('[data-testid="stMetric"]', has_text="Traces").first.wait_for(state="visible")
            t_home = time.perf_counter()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            context.close()
    return {
        "server_ready_s": t_health - t0,
        "cold_start_s": t_login_page - t0,
        "login_s": t_home - t_click,
    }


def _summary(name: str, runs: list[dict[str, float]]) -> None:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    def spread(key: str) -> str:
        values = [r[key] for r in runs]
        return f"{min(values):.2f}-{max(values):.2f} s"

    cold, login = med("cold_start_s"), med("login_s")
    print(f"{name}: {len(runs)} runs")
    for i, r in enumerate(runs, 1):
        print(
            f"  run {i}: server answers {r['server_ready_s']:.2f} s, login page rendered {r['cold_start_s']:.2f} s,"
            f" login -> home {r['login_s']:.2f} s"
        )
    verdict = "OK" if cold <= COLD_TARGET_S else "MISSED"
    print(
        f"  cold start (launch -> login page in chromium): median {cold:.2f} s, range {spread('cold_start_s')}"
        f" (target <= {COLD_TARGET_S:.0f} s: {verdict}, {cold / COLD_TARGET_S:.2f}x)"
    )
    print(
        f"  login -> home page rendered: median {login:.2f} s, range {spread('login_s')}"
        f" (target <= {LOGIN_TARGET_S:.0f} s: {'OK' if login <= LOGIN_TARGET_S else 'MISSED'},"
        f" {login / LOGIN_TARGET_S:.2f}x)"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="bench.startup", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--compare", action="store_true", help="also time `streamlit run app.py`")
    args = p.parse_args(argv if argv is not None else [])
    chromium = CHROMIUM
    if chromium is None:
        print("bench/startup: chromium is not installed (apt-get install -y chromium); skipped")
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="forge-bench-startup-") as tmp:
        db_path = Path(tmp) / "bench.duckdb"
        _seed(db_path)
        log_path = Path(tmp) / "server.log"
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        # Wall-clock figures: on a shared machine they grow with the load, so it is printed with them.
        print(f"database: an admin and the demo data; {os.cpu_count()} CPUs, load average {load}; chromium {chromium}")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                launchers = ["forge.ui.server"] + (["streamlit run"] if args.compare else [])
                runs: dict[str, list[dict[str, float]]] = {name: [] for name in launchers}
                # Interleaved, so a change in the machine's load hits both launchers alike.
                for _ in range(max(1, args.runs)):
                    for launcher in launchers:
                        runs[launcher].append(one_run(browser, launcher, db_path, log_path))
                for launcher in launchers:
                    _summary(launcher, runs[launcher])
            finally:
                browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
