"""`make run` serves the app and the API on one port; the README documents every setting and the API."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.e2e.browser import free_port as _free_port

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_make_run_serves_the_app_and_the_api_on_forge_port(tmp_path):
    port = _free_port()
    env = {**os.environ, "FORGE_PORT": str(port), "FORGE_DB": str(tmp_path / "run.duckdb")}
    env["FORGE_COOKIE_KEY"] = "run-cookie-key-" + "z" * 32
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(base + "/api/v1", timeout=2)
                raise AssertionError("the API answered without a token")
            except urllib.error.HTTPError as exc:  # the API is up: it wants a token
                assert exc.code == 401 and "token" in json.loads(exc.read())["error"]
                break
            except OSError:
                assert time.monotonic() < deadline, f"nothing answered on FORGE_PORT={port}"
                time.sleep(0.5)
        with urllib.request.urlopen(base + "/_stcore/health", timeout=5) as resp:
            assert resp.status == 200
        with urllib.request.urlopen(base + "/", timeout=5) as resp:
            assert resp.status == 200 and "<html" in resp.read().decode().lower()
        info = json.loads((tmp_path / "run.duckdb.server.json").read_text())
        assert info["port"] == port and info["url"].endswith(f":{port}")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    # The server (make's child) removes its info file as it stops.
    deadline = time.monotonic() + 20
    while (tmp_path / "run.duckdb.server.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not (tmp_path / "run.duckdb.server.json").exists()


def test_every_setting_read_in_forge_is_in_the_configuration_table():
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section))
    used: set[str] = set()
    for path in (ROOT / "forge").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        used |= set(
            re.findall(
                r"""["']((?:FORGE|OPENAI|ANTHROPIC|LANGFUSE)_[A-Z0-9_]+)["']""",  # any name quoted in the code
                text,
            )
        )
    assert used, "no settings found: the pattern is wrong"
    assert used - documented == set(), "settings missing from README's Configuration table"
    for name in ("FORGE_URL", "FORGE_TOKEN", "FORGE_PORT", "FORGE_DB"):
        assert name in documented


def test_readme_lists_every_api_route():
    from forge.api import routes

    section = README.split("## API", 1)[1].split("\n## ", 1)[0]
    for route in routes():
        for method in sorted(route.methods - {"HEAD"}):
            assert re.search(rf"`{method} {re.escape(route.path)}[`?\[]", section), (method, route.path)


def test_warm_up_leaves_component_modules_to_the_first_script_run():
    """Streamlit registers a component only when imported in a script run: the login cookie depends on it."""
    from forge.ui import server

    names = server.warm_up_modules()
    assert "pandas" in names and "forge.auth" in names and "altair" in names
    tops = {n.split(".")[0] for n in names}
    assert not tops & {"streamlit", "streamlit_authenticator", "extra_streamlit_components"}
    assert not [n for n in names if n.startswith("forge.ui")]
