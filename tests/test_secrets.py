"""API keys come from env or secrets only: never stored in the database, never logged or printed."""

from __future__ import annotations

import itertools
import logging

from forge import auth
from forge.llm.playground import run_prompt
from forge.llm.prompts import PromptSpec
from forge.llm.retry import RetryPolicy
from forge.traces import langfuse
from tests.stubs.anthropic_stub import AnthropicStub
from tests.stubs.langfuse_stub import LangfuseStub, load_framework_traces
from tests.stubs.openai_stub import OpenAIStub

OPENAI_KEY = "sk-proj-NEVER-STORE-ME-0123456789"
ANTHROPIC_KEY = "sk-ant-NEVER-STORE-ME-0123456789"
_pk = itertools.count()


def _database_bytes(db, path) -> bytes:
    db.execute("CHECKPOINT")
    return path.read_bytes()


def test_model_runs_store_no_key(db, admin, default_ws, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    with OpenAIStub(api_key=OPENAI_KEY) as oa, AnthropicStub(api_key=ANTHROPIC_KEY) as an:
        monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", oa.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", an.base_url)
        spec = PromptSpec("Say hi to {{who}}", {"who": "Sam"}, [], None, None, 64, True)
        out = run_prompt(
            auth.access(db, admin, default_ws.id),
            ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"],
            spec,
            policy=RetryPolicy(timeout=5, max_retries=0),
        )
        assert [r.error for r in out.results] == [None, None]
        # A rejected key must not echo the key into the stored error either.
        monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY + "-wrong")
        bad = run_prompt(
            auth.access(db, admin, default_ws.id),
            ["openai/gpt-4o-mini"],
            spec,
            policy=RetryPolicy(timeout=5, max_retries=0),
        )
        assert bad.results[0].error
    blob = _database_bytes(db, tmp_path / "forge.duckdb")
    for key in (OPENAI_KEY, ANTHROPIC_KEY, "NEVER-STORE-ME"):
        assert key.encode() not in blob
        assert key not in caplog.text
    assert db.scalar("SELECT count(*) FROM runs") == 3


def test_langfuse_import_stores_no_key(db, admin, default_ws, tmp_path, monkeypatch, shared_data, caplog):
    caplog.set_level(logging.DEBUG)
    data = load_framework_traces(shared_data / "langfuse/framework_traces")
    public = f"pk-lf-NEVER-STORE-ME-{next(_pk)}"
    with LangfuseStub(data, public_key=public) as stub:
        for k, v in stub.env().items():
            monkeypatch.setenv(k, v)
        secret = stub.env()["LANGFUSE_SECRET_KEY"]
        summary = langfuse.import_langfuse(auth.access(db, admin, default_ws.id))
        assert summary["imported"] == 19
        status = langfuse.connection_status()
    blob = _database_bytes(db, tmp_path / "forge.duckdb")
    assert secret.encode() not in blob and public.encode() not in blob
    assert secret not in caplog.text and secret not in repr(status)
