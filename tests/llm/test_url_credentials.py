"""Credentials inside a base URL (user:password, ?api_key=) reach the server but nothing we store, print or log."""

from __future__ import annotations

import base64
import json
import logging
import socket

import pytest

from forge import config
from forge.cli import main
from forge.llm.registry import provider_statuses
from forge.store import Database
from tests.conftest import PASSWORD
from tests.stubs.openai_stub import OpenAIStub

USER, PW, QKEY, QSIG = "alice", "pw-Secr3t-4417", "qk-98765-topsecret", "sig-55aa-secret"
SECRETS = (PW, QKEY, QSIG)


class CredentialStub(OpenAIStub):
    """An OpenAI-compatible server behind Basic auth that also wants ?api_key= (and echoes the path in errors)."""

    def handle(self, h, body: dict) -> None:
        path, _, query = h.path.partition("?")
        basic = "Basic " + base64.b64encode(f"{USER}:{PW}".encode()).decode()
        wanted = f"api_key={QKEY}" in query.split("&") and h.headers.get("Authorization") == basic
        if not wanted:
            return self._error(h, 401, f"no entry for {h.path}", "invalid_api_key")
        if body.get("model") == "echo-path":  # a server whose error message quotes the request line
            return self._error(h, 400, f"bad request for {h.path}", "invalid_request")
        h.path = path
        return super().handle(h, body)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def secured(tmp_path, monkeypatch):
    with CredentialStub(api_key=None) as stub:
        host = f"127.0.0.1:{stub.port}"
        path = tmp_path / "catalog.toml"
        path.write_text(
            f'[endpoints.secure]\nbase_url = "http://{USER}:{PW}@{host}/v1?api_key={QKEY}&region=eu"\n\n'
            f'[endpoints.gone]\nbase_url = "http://{USER}:{PW}@127.0.0.1:{_closed_port()}/v1?sig={QSIG}"\n'
        )
        monkeypatch.setenv("FORGE_CATALOG", str(path))
        monkeypatch.setenv("FORGE_LLM_MAX_RETRIES", "0")
        yield stub


def test_redact_url_and_text():
    assert (
        config.redact_url("http://u:p@h:1/v1?api_key=k&x=1&token=t#f")
        == "http://***@h:1/v1?api_key=***&x=1&token=***#f"
    )
    assert config.redact_url("https://h/v1?keyword=1&monkey=2") == "https://h/v1?keyword=1&monkey=2"
    text = "Could not connect to X (http://u:pw@h/v1?secret=s&sig=g): refused; path /v1?password=p ok"
    assert (
        config.redact(text)
        == "Could not connect to X (http://***@h/v1?secret=***&sig=***): refused; path /v1?password=*** ok"
    )


def test_credentials_are_sent_but_never_stored_printed_or_logged(
    secured, db, admin, default_ws, tmp_path, monkeypatch, capsys, caplog
):
    monkeypatch.setenv("FORGE_USER", "admin")
    monkeypatch.setenv("FORGE_PASSWORD", PASSWORD)
    caplog.set_level(logging.DEBUG)
    code = main(
        ["run", "--model", "secure/m1", "--model", "secure/echo-path", "--model", "gone/m2", "--prompt", "Hi", "--json"]
    )
    out = capsys.readouterr()
    rows = {r["model"]: r for r in map(json.loads, out.out.splitlines())}
    assert code == 0
    # The call worked: the server got the user:password as Basic auth and the key as a query parameter.
    assert rows["secure/m1"]["output"].startswith("Stub answer from m1") and rows["secure/m1"]["error"] is None
    sent = secured.requests_for("m1")[0]
    assert f"api_key={QKEY}" in sent["path"] and "region=eu" in sent["path"]
    # The failures name the endpoint, without its credentials.
    assert "***" in rows["secure/echo-path"]["error"] and "Could not connect" in rows["gone/m2"]["error"]
    assert "127.0.0.1" in rows["gone/m2"]["error"] and "***@" in rows["gone/m2"]["error"]
    for secret in SECRETS:
        assert secret not in out.out and secret not in out.err
        assert secret not in caplog.text

    # Nothing in any text column of the database, nor in the file's bytes.
    def text_columns(database: Database) -> list[tuple[str, str]]:
        return database.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE data_type IN ('VARCHAR', 'JSON') AND table_schema = 'main'"
        )

    columns = text_columns(db)
    assert ("runs", "error") in columns and ("traces", "output_text") in columns
    for table, column in columns:
        for secret in SECRETS:
            hits = db.scalar(
                f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS VARCHAR) LIKE ?', [f"%{secret}%"]
            )
            assert hits == 0, (table, column, secret)
    assert db.scalar("SELECT count(*) FROM runs WHERE error LIKE '%***%'") == 2
    db.execute("CHECKPOINT")
    raw = (tmp_path / "forge.duckdb").read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in raw


def test_provider_statuses_show_the_url_without_credentials(secured):
    shown = {s.name: s for s in provider_statuses()}
    assert shown["secure"].base_url.startswith("http://***@127.0.0.1:") and "api_key=***" in shown["secure"].base_url
    assert "region=eu" in shown["secure"].base_url
    assert all(secret not in repr(shown) for secret in SECRETS)


def test_a_base_url_without_credentials_is_left_alone():
    assert config.redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert config.redact("Server error (500) from vLLM (http://127.0.0.1:8000/v1): boom") == (
        "Server error (500) from vLLM (http://127.0.0.1:8000/v1): boom"
    )


def test_the_openai_provider_sends_credentials_from_openai_base_url(db, admin, default_ws, monkeypatch, capsys):
    with CredentialStub(api_key=None) as stub:
        monkeypatch.setenv("OPENAI_BASE_URL", f"http://{USER}:{PW}@127.0.0.1:{stub.port}/v1?api_key={QKEY}")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-not-checked-by-this-stub")
        monkeypatch.setenv("FORGE_LLM_MAX_RETRIES", "0")
        monkeypatch.setenv("FORGE_USER", "admin")
        monkeypatch.setenv("FORGE_PASSWORD", PASSWORD)
        code = main(["run", "--model", "openai/gpt-4o-mini", "--prompt", "Hi", "--json"])
        out = capsys.readouterr()
        row = json.loads(out.out.splitlines()[0])
        assert code == 0 and row["error"] is None and row["output"].startswith("Stub answer")
        assert f"api_key={QKEY}" in stub.requests_for("gpt-4o-mini")[0]["path"]
        for secret in SECRETS:
            assert secret not in out.out and secret not in out.err
