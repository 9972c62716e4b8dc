"""A LANGFUSE_HOST with credentials in it: the import works, and the credentials are never stored or printed."""

from __future__ import annotations

import socket

from forge import auth
from forge.cli import main
from forge.traces import langfuse
from tests.conftest import PASSWORD
from tests.stubs.langfuse_stub import LangfuseStub, load_framework_traces

HOST_PW = "pw-in-langfuse-host-77"


def test_host_credentials_are_kept_out_of_the_database_and_the_cli(
    db, admin, default_ws, shared_data, monkeypatch, capsys
):
    traces = load_framework_traces(shared_data / "langfuse/framework_traces")[:3]
    with LangfuseStub(traces, public_key="pk-lf-host-creds") as stub:
        for k, v in stub.env().items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("LANGFUSE_HOST", stub.url.replace("http://", f"http://proxy:{HOST_PW}@"))
        summary = langfuse.import_langfuse(auth.access(db, admin, default_ws.id))
        assert summary["imported"] == 3
    keys = [r[0] for r in db.fetchall("SELECT key FROM import_cursors")]
    assert keys == [stub.url.replace("http://", "http://***@")]
    assert db.scalar("SELECT count(*) FROM traces WHERE CAST(metadata AS VARCHAR) LIKE ?", [f"%{HOST_PW}%"]) == 0

    with socket.socket() as s:  # nobody listens there now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LANGFUSE_HOST", f"http://proxy:{HOST_PW}@127.0.0.1:{port}")
    monkeypatch.setenv("FORGE_USER", "admin")
    monkeypatch.setenv("FORGE_PASSWORD", PASSWORD)
    assert main(["import-langfuse"]) == 1
    out = capsys.readouterr()
    assert "cannot reach Langfuse at http://***@127.0.0.1" in out.err and HOST_PW not in out.err + out.out
