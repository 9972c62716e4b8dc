"""The real server (python -m forge.ui.server) runs the scheduled Langfuse sync from its lifespan."""

from __future__ import annotations

import json
import time
import urllib.request

from forge import auth, sync, tokens
from forge.store import Database
from tests.conftest import PASSWORD
from tests.e2e.browser import serve
from tests.stubs.langfuse_stub import LangfuseStub, load_framework_traces


def _total(url: str, token: str) -> int:
    req = urllib.request.Request(
        url + "/api/v1/traces?workspace=default&limit=1", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())["total"]


def test_the_server_syncs_on_schedule_and_stops_on_shutdown(tmp_path, shared_data):
    db_path = tmp_path / "served.duckdb"
    db = Database(str(db_path))
    try:
        admin = auth.create_first_admin(db, "admin", PASSWORD)
        ws = auth.resolve_workspace(db, admin)
        token = tokens.create_token(db, admin, "sync test")[0]
        sync.set_schedule(db, admin, ws.id, 60)  # due at once: it has never run
    finally:
        db.close()
    traces = load_framework_traces(shared_data / "langfuse/framework_traces")
    with LangfuseStub(traces, public_key="pk-lf-server-sync") as stub:
        env = {**stub.env(), "FORGE_SYNC_TICK_S": "0.2", "FORGE_COOKIE_KEY": "sync-cookie-" + "k" * 32}
        with serve(db_path, tmp_path / "server.log", env=env) as url:
            deadline = time.monotonic() + 60
            while _total(url, token) < 19 and time.monotonic() < deadline:
                time.sleep(0.3)
            assert _total(url, token) == 19
            time.sleep(1.0)  # the scheduler records the job's end on its next look (0.5 s while running)
    db = Database(str(db_path))  # the server is gone: the file is free again
    try:
        row = db.fetchone(
            "SELECT last_status, last_imported, job_id FROM langfuse_sync WHERE workspace_id = ?", [ws.id]
        )
        assert row == ("done", 19, None)
        assert db.scalar("SELECT count(*) FROM jobs WHERE kind = 'import-langfuse'") == 1  # not again within the hour
    finally:
        db.close()
    assert "Traceback" not in (tmp_path / "server.log").read_text()
