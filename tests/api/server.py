"""A real Forge server (python -m forge.ui.server) on a free port, for tests and bench/api.py."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import PASSWORD
from tests.e2e.browser import ROOT, free_port


@contextlib.contextmanager
def team(db_path: Path) -> Iterator[tuple]:
    """(db, admin, the 'default' workspace, ana: an analyst in it) in a database the server will serve."""
    from forge import auth
    from forge.store import Database

    db = Database(str(db_path))
    try:
        admin = auth.create_first_admin(db, "admin", PASSWORD)
        ws = auth.resolve_workspace(db, admin)
        ana = auth.create_user(db, admin, "ana", PASSWORD, "analyst")
        auth.add_member(db, admin, ws.id, "ana")
        yield db, admin, ws, ana
    finally:
        db.close()


@contextlib.contextmanager
def running_server(db_path: Path, log_path: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve ``db_path``; yields the base URL once /api/v1 answers; stops the server after."""
    port = free_port()
    full = {**os.environ, "FORGE_DB": str(db_path), "FORGE_COOKIE_KEY": "api-cookie-" + "k" * 32, **(env or {})}
    for name in ("FORGE_URL", "FORGE_TOKEN"):
        full.pop(name, None)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "forge.ui.server", "--port", str(port), "--address", "127.0.0.1"]
            + ["--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=ROOT,
            env=full,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(url + "/api/v1", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("forge.ui.server did not start: " + log_path.read_text()[-2000:]) from None
                    time.sleep(0.2)
            yield url
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
