"""A fast first page: the login page's script run imports none of the heavy libraries.

The login page is what every user waits for first (bench/startup times it); libraries such as
statsmodels, scipy or altair take ~0.3-0.5 s each to import and only later pages need them.
The check runs app.py with AppTest in a fresh interpreter, as the server's first script run does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
HEAVY = {"statsmodels", "scipy", "altair", "httpx", "openai", "anthropic", "langfuse", "tiktoken", "sklearn"}
_PROBE = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=60).run()
print(json.dumps({
    "exceptions": [str(e.value) for e in at.exception],
    "subheaders": [h.value for h in at.subheader],
    "modules": sorted(sys.modules),
}))
"""


def _first_run_of_app() -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(ROOT / "app.py")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env=os.environ,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_login_page_imports_no_heavy_library():
    from forge import auth
    from forge.store import connect

    db = connect(os.environ["FORGE_DB"])  # the per-test database (tests/conftest.py)
    auth.create_first_admin(db, "admin", PASSWORD, "Ada Admin")
    db.close()  # DuckDB: one process at a time; the app's run opens it next

    run = _first_run_of_app()

    assert run["exceptions"] == []
    assert run["subheaders"] == ["Log in"]  # the login form was drawn
    loaded = {name.split(".")[0] for name in run["modules"]}
    assert "streamlit_authenticator" in loaded  # the probe saw the login path's own imports
    assert loaded & HEAVY == set()


def test_server_imports_no_component_before_the_first_script_run():
    """Streamlit registers a component only when imported in a script run: the login cookie depends on it."""
    from forge.ui import server

    early = [*server._LOGIN_PAGE_MODULES, *server._HOME_PAGE_MODULES, *server._LAZY_MODULES]
    tops = {name.split(".")[0] for name in early}
    assert not tops & {"streamlit", "streamlit_authenticator", "extra_streamlit_components"}
    assert not [name for name in early if name.startswith("forge.ui")]
