"""The `forge` command against a real running server (python -m forge.ui.server): same output, same exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.api.server import running_server, team
from tests.conftest import PASSWORD
from tests.e2e.browser import ROOT
from tests.e2e.browser import free_port as _free_port

BAD_ROWS = (
    '{"id": "r1", "input": "q", "output": "a", "rating": "up"}\nnot json\n{"id": "r2", "input": "q2", "output": "b"}\n'
)


def _seed(db_path: Path) -> str:
    """Admin and an analyst in 'default'; returns the analyst's token (made before the server starts)."""
    from forge import tokens

    with team(db_path) as (db, _admin, _ws, ana):
        return tokens.create_token(db, ana, "remote test")[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real server on a seeded database: (url, db path, analyst token, log path, None)."""
    tmp = tmp_path_factory.mktemp("remote")
    db_path = tmp / "served.duckdb"
    token = _seed(db_path)
    log_path = tmp / "server.log"
    with running_server(db_path, log_path) as url:
        yield url, db_path, token, log_path, None


def _forge(*args: str, env: dict, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    full = {
        k: v for k, v in os.environ.items() if k not in ("FORGE_URL", "FORGE_TOKEN", "FORGE_USER", "FORGE_PASSWORD")
    }
    full.update(env)
    # Run this checkout's forge (as the server does), not whichever one the venv has installed.
    full["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), full.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "forge", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def twins(server, tmp_path):
    """run(*args) -> (remote result, local result): the same command on the server and on a local twin database."""
    url, db_path, token, _, _ = server
    local_db = tmp_path / "local.duckdb"
    _seed(local_db)
    (tmp_path / "bad.jsonl").write_text(BAD_ROWS)
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "context.txt").write_text("The tent sleeps four.")
    remote_env = {"FORGE_DB": str(db_path), "FORGE_TOKEN": token}
    local_env = {"FORGE_DB": str(local_db), "FORGE_USER": "ana", "FORGE_PASSWORD": PASSWORD}

    def run(*args: str):
        return _forge(*args, env=remote_env, cwd=tmp_path), _forge(*args, env=local_env, cwd=tmp_path)

    run.local_db = local_db
    return run


def _same(remote, local, drop: tuple[str, ...] = ()):
    assert remote.returncode == local.returncode, (remote.stderr, local.stderr)
    assert remote.stderr == local.stderr
    if drop:
        strip = lambda out: [{k: v for k, v in json.loads(line).items() if k not in drop} for line in out.splitlines()]  # noqa: E731
        assert strip(remote.stdout) == strip(local.stdout)
    else:
        assert remote.stdout == local.stdout


def test_import_run_and_bad_input_match_a_local_run(twins, server):
    remote, local = twins("import", "bad.jsonl", "--eval-set", "Remote set")
    _same(remote, local)
    assert remote.returncode == 0 and "imported 2" in remote.stdout and "bad.jsonl:2" in remote.stdout
    remote, local = twins("import", "bad.jsonl", "--json")
    _same(remote, local)
    assert json.loads(remote.stdout)["updated"] == 2
    remote, local = twins("import", "empty.jsonl", "missing.jsonl")
    _same(remote, local)
    assert remote.returncode == 2 and remote.stderr.startswith("forge: nothing valid was found: empty.jsonl")
    remote, local = twins(
        "run",
        "--model",
        "offline/echo",
        "--prompt",
        "Summarise {{x}}",
        "--var",
        "x=it",
        "--context",
        "context.txt",
        "--json",
    )
    _same(remote, local, drop=("latency_ms",))
    assert remote.returncode == 0 and json.loads(remote.stdout)["model"] == "offline/echo"
    remote, local = twins("run", "--model", "offline/echo", "--prompt", "Summarise {{x}}")
    _same(remote, local)
    assert remote.returncode == 2 and "{{x}}" in remote.stderr
    remote, local = twins("run", "--model", "offline/echo", "--prompt", "hi", "--context", "nosuch.txt")
    _same(remote, local)
    assert remote.returncode == 2 and "nosuch.txt" in remote.stderr
    remote, local = twins("import", "bad.jsonl", "--workspace", "nosuch")
    _same(remote, local)
    assert remote.returncode == 2
    # The server's database holds what the local twin holds (the server has the file: ask the API).
    from forge.store import Database

    local_db = Database(str(twins.local_db))
    try:
        expected = local_db.fetchall("SELECT source, count(*) FROM traces GROUP BY ALL ORDER BY ALL")
    finally:
        local_db.close()
    url, _, token, _, _ = server
    req = urllib.request.Request(url + "/api/v1/traces?limit=1000", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as resp:
        rows = json.loads(resp.read())["traces"]
    got = sorted((s, sum(1 for r in rows if r["source"] == s)) for s in {r["source"] for r in rows})
    assert got == [tuple(e) for e in expected] == [("file", 2), ("playground", 1)]


def test_demo_file_keeps_its_criterion_through_the_server(twins, server):
    """`forge import data/demo_traces.jsonl --eval-set 'Grounded answers'` = "Load demo data", remotely too."""
    from forge.demo import DEMO_CRITERION, DEMO_EVAL_SET, DEMO_FILE

    remote, local = twins("import", str(DEMO_FILE), "--eval-set", DEMO_EVAL_SET, "--json")
    _same(remote, local)
    url, _, token, _, _ = server
    req = urllib.request.Request(url + "/api/v1/eval-sets", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as resp:
        sets = {s["name"]: s for s in json.loads(resp.read())["eval_sets"]}
    assert sets[DEMO_EVAL_SET]["criterion"] == DEMO_CRITERION
    # The CI commands say the same through the server: nothing kept to export yet, a gate out of range.
    remote, local = twins("eval", "export", "--eval-set", DEMO_EVAL_SET, "--out", "test_demo.py")
    _same(remote, local)
    assert remote.returncode == 2 and "has no kept eval yet" in remote.stderr
    remote, local = twins("eval", "run", "--eval-set", DEMO_EVAL_SET, "--min-pass-rate", "101")
    _same(remote, local)
    assert remote.returncode == 2 and "--min-pass-rate must be a percentage" in remote.stderr


def test_admin_commands_need_an_admin_token(twins):
    remote, local = twins("users", "add", "eve", "--role", "viewer")
    assert remote.returncode == 2 and "Only an admin" in remote.stderr


def test_forge_url_reaches_the_server_from_anywhere(server, tmp_path):
    url, _, token, _, _ = server
    env = {"FORGE_DB": str(tmp_path / "unrelated.duckdb"), "FORGE_URL": url, "FORGE_TOKEN": token}
    r = _forge("run", "--model", "offline/echo", "--prompt", "hi", "--json", env=env, cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["error"] is None
    assert not (tmp_path / "unrelated.duckdb").exists()


def test_missing_or_bad_token_is_a_clear_exit_2(server, tmp_path):
    url, db_path, token, log_path, _ = server
    r = _forge("import", "x.jsonl", env={"FORGE_DB": str(db_path)}, cwd=tmp_path)
    assert r.returncode == 2 and "FORGE_TOKEN" in r.stderr and "Settings" in r.stderr and url in r.stderr
    r = _forge("import", "x.jsonl", env={"FORGE_DB": str(db_path), "FORGE_TOKEN": token + "x"}, cwd=tmp_path)
    assert r.returncode == 2 and "refused FORGE_TOKEN" in r.stderr
    assert token not in log_path.read_text()
    # A server that is not there: exit 1, naming it.
    r = _forge(
        "import", "x.jsonl", env={"FORGE_URL": f"http://127.0.0.1:{_free_port()}", "FORGE_TOKEN": token}, cwd=tmp_path
    )
    assert r.returncode == 1 and "cannot reach the Forge server" in r.stderr


def test_output_files_come_back(server, tmp_path, shared_data):
    """`forge eval synth --traces FILE --out EVAL.py` writes EVAL.py here, the same as a local run would."""
    url, db_path, token, _, _ = server
    rows = (shared_data / "halueval_general.jsonl").read_text().splitlines()[:60]
    (tmp_path / "labelled.jsonl").write_text("\n".join(rows) + "\n")
    args = ("eval", "synth", "--traces", "labelled.jsonl", "--out", "out/eval.py")
    (tmp_path / "out").mkdir()
    local = _forge(*args, env={"FORGE_DB": str(tmp_path / "none.duckdb")}, cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    written_here = (tmp_path / "out" / "eval.py").read_bytes()
    (tmp_path / "out" / "eval.py").unlink()
    remote = _forge(*args, env={"FORGE_URL": url, "FORGE_TOKEN": token}, cwd=tmp_path)
    assert (remote.returncode, remote.stdout, remote.stderr) == (local.returncode, local.stdout, local.stderr)
    assert (tmp_path / "out" / "eval.py").read_bytes() == written_here


def test_stopping_the_server_removes_its_info_file(tmp_path):
    db_path = tmp_path / "stop.duckdb"
    _seed(db_path)
    port = _free_port()
    env = {**os.environ, "FORGE_DB": str(db_path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "forge.ui.server",
            "--port",
            str(port),
            "--address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    info = Path(str(db_path) + ".server.json")
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert json.loads(info.read_text()) == {"url": f"http://127.0.0.1:{port}", "port": port, "pid": proc.pid}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert not info.exists()
    # With the server gone, the command runs locally again.
    r = _forge(
        "import",
        "nosuch.jsonl",
        env={"FORGE_DB": str(db_path), "FORGE_USER": "admin", "FORGE_PASSWORD": PASSWORD},
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "file not found" in r.stderr


@pytest.mark.parametrize(
    "args, code, message",
    [
        (("--model", "nope/x"), 2, "forge: unknown provider 'nope' in model 'nope/x'"),
        (("--model", "offline/echo", "--max-tokens", "-5"), 2, "forge: max tokens must be a whole number"),
        (("--model", "offline/echo", "--temperature", "nan"), 2, "forge: temperature must be a number"),
        (("--model", "offline/nope", "--model", "offline/gone"), 1, "forge: all 2 models failed (runs kept)"),
    ],
)
def test_run_exit_codes_match_a_local_run(twins, args, code, message):
    remote, local = twins("run", *args, "--prompt", "Hi", "--json")
    assert remote.returncode == local.returncode == code, (remote.stderr, local.stderr)
    assert remote.stderr == local.stderr and remote.stderr.startswith(message) and remote.stderr.count("\n") == 1


def test_credentials_in_forge_url_are_not_printed(tmp_path):
    port = _free_port()  # nothing listens there
    done = _forge(
        "run",
        "--model",
        "offline/echo",
        "--prompt",
        "Hi",
        env={"FORGE_URL": f"http://proxyuser:pw-in-forge-url@127.0.0.1:{port}", "FORGE_TOKEN": "t" * 40},
        cwd=tmp_path,
    )
    assert done.returncode == 1 and "cannot reach the Forge server" in done.stderr
    assert "pw-in-forge-url" not in done.stderr + done.stdout and "***@127.0.0.1" in done.stderr
