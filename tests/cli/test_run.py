"""`forge run`: one JSON object per model, readable table otherwise, runs persisted, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from forge import auth
from forge.cli import main
from forge.store import runs
from tests.conftest import PASSWORD, ROOT

JSON_KEYS = {"model", "output", "input_tokens", "output_tokens", "tokens_estimated", "latency_ms", "cost_usd", "error"}


@pytest.fixture
def logged_in(monkeypatch, admin, default_ws):
    monkeypatch.setenv("FORGE_USER", "admin")
    monkeypatch.setenv("FORGE_PASSWORD", PASSWORD)
    return admin


@pytest.fixture
def stub(openai_stub, monkeypatch):
    monkeypatch.setenv("FORGE_LLM_MAX_RETRIES", "0")
    return openai_stub


def test_json_one_object_per_model_and_runs_kept(db, logged_in, default_ws, stub, tmp_path, capsys):
    ctx = tmp_path / "notes.txt"
    ctx.write_text("The meeting is on Friday.")
    stub.fail("gpt-4o", 429, times=1, retry_after=0)
    code = main(
        [
            "run",
            "--model",
            "offline/echo",
            "--model",
            "openai/gpt-4o-mini",
            "--model",
            "openai/gpt-4o",
            "--prompt",
            "When is the {{what}}?",
            "--var",
            "what=meeting",
            "--context",
            str(ctx),
            "--system",
            "Answer briefly",
            "--temperature",
            "0",
            "--max-tokens",
            "40",
            "--json",
        ]
    )
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["model"] for o in lines] == ["offline/echo", "openai/gpt-4o-mini", "openai/gpt-4o"]
    assert all(set(o) == JSON_KEYS for o in lines)
    echo, mini, four = lines
    assert echo["tokens_estimated"] is True and echo["output"].startswith("[offline model")
    assert mini["output"].startswith('Stub answer from gpt-4o-mini: <context name="notes.txt"> The meeting')
    assert mini["tokens_estimated"] is False and mini["cost_usd"] > 0 and mini["error"] is None
    assert "Rate limited (429)" in four["error"] and four["output"] == ""  # its error is in its row; exit 0
    sent = stub.requests_for("gpt-4o-mini")[0]["body"]
    assert sent["temperature"] == 0 and sent["max_completion_tokens"] == 40
    assert sent["messages"][0] == {"role": "system", "content": "Answer briefly"}
    user_text = sent["messages"][1]["content"]
    assert "The meeting is on Friday." in user_text and user_text.endswith("When is the meeting?")
    stored = runs.list_runs(auth.access(db, logged_in, default_ws.id))
    assert sorted(r["model"] for r in stored) == ["offline/echo", "openai/gpt-4o", "openai/gpt-4o-mini"]
    assert all(r["trace_id"] for r in stored)


def test_table_output(logged_in, capsys):
    # One model answers, one fails (a model the offline provider does not have): exit 0, the error in its row.
    assert main(["run", "--model", "offline/echo", "--model", "offline/nope", "--prompt", "Hi"]) == 0
    out = capsys.readouterr().out
    header, echo_row, bad_row = out.splitlines()[:3]
    assert header.split()[:2] == ["model", "status"]
    assert echo_row.startswith("offline/echo") and " ok " in echo_row and "(est.)" in echo_row
    assert bad_row.startswith("offline/nope") and "ERROR" in bad_row
    assert "--- offline/echo" in out and "[offline model" in out and "ERROR: Unknown model: offline/nope" in out


def test_every_model_failed_exits_1_and_keeps_the_runs(db, logged_in, default_ws, capsys):
    # No OPENAI_API_KEY: openai fails for want of a key, offline/nope is not a model of the offline provider.
    code = main(["run", "--model", "offline/nope", "--model", "openai/gpt-4o-mini", "--prompt", "Hi", "--json"])
    assert code == 1
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["model"] for r in rows] == ["offline/nope", "openai/gpt-4o-mini"] and all(r["error"] for r in rows)
    assert captured.err.strip() == "forge: all 2 models failed (runs kept)"
    assert len(runs.list_runs(auth.access(db, logged_in, default_ws.id))) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "offline/echo", "--prompt", "x", "--var", "novalue"], "expected NAME=VALUE"),
        (["--model", "offline/echo", "--prompt", "x", "--context", "/no/such/file.txt"], "not found"),
        (["--model", " ", "--prompt", "x"], "no models"),
        (["--model", "offline/echo", "--prompt", "Hi {{name}}"], "No value for {{name}}"),
        (["--model", "nope/x", "--prompt", "x"], "unknown provider 'nope' in model 'nope/x'"),
        (["--model", "offline/echo", "--model", "nope/x", "--prompt", "x"], "unknown provider 'nope'"),
        (["--model", "gpt-4o", "--prompt", "x"], "name models as provider/model"),
        (["--model", "offline/echo", "--prompt", "x", "--max-tokens", "-5"], "max tokens must be a whole number"),
        (["--model", "offline/echo", "--prompt", "x", "--max-tokens", "0"], "max tokens must be a whole number"),
        (["--model", "offline/echo", "--prompt", "x", "--temperature", "nan"], "temperature must be a number"),
        (["--model", "offline/echo", "--prompt", "x", "--temperature", "inf"], "temperature must be a number"),
        (["--model", "offline/echo", "--prompt", "x", "--temperature", "2.5"], "from 0 to 2, got 2.5"),
        (["--model", "offline/echo", "--prompt", "x", "--temperature", "-0.1"], "from 0 to 2, got -0.1"),
        (["--model", "offline/echo", "--prompt", "x", "--timeout", "nan"], "--timeout must be a positive"),
    ],
)
def test_bad_input_exits_2_with_one_line(db, logged_in, argv, message, capsys):
    assert main(["run", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("forge: ") and message in err and "\n" not in err
    assert runs.list_runs(auth.access(db, logged_in, runs_ws(db, logged_in))) == []


def runs_ws(db, actor):
    from forge import auth

    return auth.resolve_workspace(db, actor).id


def test_login_required(admin, capsys):
    assert main(["run", "--model", "offline/echo", "--prompt", "x"]) == 2
    assert "login required" in capsys.readouterr().err


def test_as_a_real_command(tmp_path):
    env = {**os.environ, "FORGE_DB": str(tmp_path / "cli.duckdb"), "FORGE_USER": "root", "FORGE_PASSWORD": PASSWORD}
    env.pop("OPENAI_API_KEY", None)
    subprocess.run(
        [sys.executable, "-m", "forge", "users", "add", "root", "--role", "admin"],
        input=PASSWORD + "\n",
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "forge",
            "run",
            "--model",
            "offline/echo",
            "--model",
            "openai/gpt-4o-mini",
            "--prompt",
            "Hello",
            "--json",
        ],
        text=True,
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    echo, mini = [json.loads(line) for line in done.stdout.splitlines()]
    assert echo["error"] is None
    assert mini["error"].startswith("No key found - set the OPENAI_API_KEY environment variable")
