"""`forge import` through the real command: summary, --json, exit codes."""

import json

PW = "correct horse battery"


def _login(forge_cli, tmp_path):
    env = {"FORGE_DB": str(tmp_path / "cli.duckdb"), "FORGE_USER": "admin", "FORGE_PASSWORD": PW}
    assert forge_cli("users", "add", "admin", "--role", "admin", stdin=PW + "\n", env=env).code == 0
    return env


def test_import_framework_traces_twice(forge_cli, tmp_path, shared_data):
    env = _login(forge_cli, tmp_path)
    files = [str(p) for p in sorted((shared_data / "langfuse/framework_traces").glob("*.json"))]
    r = forge_cli("import", *files, "--json", env=env)
    assert r.code == 0, r.err
    s = json.loads(r.out.strip().splitlines()[-1])
    assert (s["imported"], s["updated"], s["failed"]) == (19, 0, 0)
    r = forge_cli("import", *files, env=env)
    assert r.code == 0 and "imported 0, updated 19" in r.out


def test_exit_2_when_nothing_is_valid(forge_cli, tmp_path):
    env = _login(forge_cli, tmp_path)
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    r = forge_cli("import", str(empty), env=env)
    assert r.code == 2 and "file is empty" in r.err and len(r.err.strip().splitlines()) == 1
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"id": "a", "input": "q", "output": "a", "rating": "up"}\nnot json\n')
    r = forge_cli("import", str(mixed), "--eval-set", "Grounded", "--json", env=env)
    s = json.loads(r.out)
    assert r.code == 0 and s["imported"] == 1 and s["failed"] == 1 and s["errors"][0]["line"] == 2
    assert s["ratings"]["stored"] == 1


def test_demo_file_through_the_cli_matches_the_home_button(forge_cli, tmp_path):
    """`forge import data/demo_traces.jsonl --eval-set 'Grounded answers'` = "Load demo data"."""
    from forge.demo import DEMO_CRITERION, DEMO_EVAL_SET, DEMO_FILE
    from forge.store import connect

    env = _login(forge_cli, tmp_path)
    r = forge_cli("import", str(DEMO_FILE), "--eval-set", DEMO_EVAL_SET, "--json", env=env)
    assert r.code == 0, r.err
    s = json.loads(r.out)
    assert s["imported"] >= 60 and s["failed"] == 0
    db = connect(tmp_path / "cli.duckdb")
    try:
        rows = db.fetchall("SELECT name, criterion FROM eval_sets")
        assert rows == [(DEMO_EVAL_SET, DEMO_CRITERION)]
        values = dict(db.fetchall("SELECT value, count(*) FROM ratings GROUP BY value"))
        rated = values.get("pass", 0) + values.get("fail", 0)
        assert values["pass"] > 10 and values["fail"] > 10
        assert abs(rated - s["imported"] / 2) <= s["imported"] * 0.1  # about half rated
        assert db.scalar("SELECT count(*) FROM ratings WHERE note IS NULL OR note = ''") == 0
    finally:
        db.close()


def test_criterion_option_names_what_a_new_eval_set_checks(forge_cli, tmp_path):
    env = _login(forge_cli, tmp_path)
    f = tmp_path / "rated.jsonl"
    f.write_text('{"id": "a", "input": "q", "output": "a", "rating": "down", "note": "made up"}\n')
    r = forge_cli("import", str(f), "--eval-set", "Concise", "--criterion", "Answers in one sentence", env=env)
    assert r.code == 0, r.err
    from forge.store import connect

    db = connect(tmp_path / "cli.duckdb")
    try:
        assert db.fetchall("SELECT name, criterion FROM eval_sets") == [("Concise", "Answers in one sentence")]
        assert db.fetchall("SELECT value, note FROM ratings") == [("fail", "made up")]
    finally:
        db.close()


def test_labels_without_eval_set_and_a_file_of_only_bad_rows(forge_cli, tmp_path):
    env = _login(forge_cli, tmp_path)
    rated = tmp_path / "rated.jsonl"
    rated.write_text('{"id": "a", "input": "q", "output": "a", "rating": "up"}\n')
    r = forge_cli("import", str(rated), env=env)
    assert r.code == 0 and "None" not in r.out and "ratings: 1 not stored (no --eval-set given)" in r.out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('not json\n{"id": "b", "input": "q"}\n')
    r = forge_cli("import", str(bad), env=env)
    assert r.code == 2 and "nothing valid was found" in r.err
    assert "bad.jsonl:1" in r.err and len(r.err.strip().splitlines()) == 1


def test_a_row_nested_a_thousand_levels_deep_is_a_row_error_not_a_traceback(forge_cli, tmp_path):
    env = _login(forge_cli, tmp_path)
    deep = "[" * 1000 + "]" * 1000
    f = tmp_path / "deep.jsonl"
    f.write_text(
        '{"id": "a", "input": "q", "output": "a"}\n'
        f'{{"id": "b", "input": "q", "output": "a", "metadata": {{"x": {deep}}}}}\n'
        '{"id": "c", "input": "q", "output": "c"}\n'
    )
    r = forge_cli("import", str(f), env=env)
    assert r.code == 0 and "Traceback" not in r.err, r.err
    assert "imported 2, updated 0, skipped 0, failed 1" in r.out
    assert f"error: {f}:2 [metadata] nested more than" in r.out


def test_progress_goes_to_stderr_only_on_a_terminal(forge_cli, tmp_path):
    env = _login(forge_cli, tmp_path)
    f = tmp_path / "rows.jsonl"
    f.write_text("".join(f'{{"id": "r{i}", "input": "q", "output": "a"}}\n' for i in range(50)))
    r = forge_cli("import", str(f), "--json", env=env)
    assert r.code == 0 and r.err == "" and json.loads(r.out)["imported"] == 50


def test_import_langfuse_stopped_part_way_prints_what_it_kept_and_exits_1(forge_cli, tmp_path, shared_data):
    from tests.stubs.langfuse_stub import LangfuseStub, load_framework_traces, wrong_shape

    env = _login(forge_cli, tmp_path)
    framework = sorted(
        load_framework_traces(shared_data / "langfuse/framework_traces"), key=lambda x: x[0]["timestamp"]
    )
    fifth = framework[4][0]["id"]
    with LangfuseStub(framework, public_key="pk-lf-cli-stop", mode="v1") as stub:
        env = {**env, **stub.env()}
        stub.fault = wrong_shape("/api/public/traces", "maintenance")
        r = forge_cli("import-langfuse", env=env)
        assert r.code == 1 and "Traceback" not in r.err, r.err
        assert "unexpected response for GET /api/public/traces: a string ('maintenance')" in r.err
        stub.fault = lambda path, q: (503, {"message": "down"}) if path.endswith(fifth) else None
        r = forge_cli("import-langfuse", "--json", env=env)
        assert r.code == 1 and "Traceback" not in r.err, r.err
        assert "HTTP 503" in r.err and len(r.err.strip().splitlines()) == 1
        assert json.loads(r.out)["imported"] == 4  # the four traces before the failing one are stored
        stub.fault = None
        r = forge_cli("import-langfuse", "--json", env=env)
        assert r.code == 0 and json.loads(r.out)["imported"] == 15


def test_on_a_terminal_the_import_shows_its_progress_in_bytes_on_stderr(forge_cli, tmp_path):
    import os
    import pty
    import subprocess
    import sys

    env = _login(forge_cli, tmp_path)
    f = tmp_path / "rows.jsonl"
    f.write_text("".join(f'{{"id": "r{i}", "input": "question {i}", "output": "a"}}\n' for i in range(5000)))
    leader, follower = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-m", "forge", "import", str(f)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=follower,
        cwd=tmp_path,
        timeout=120,
    )
    os.close(follower)
    err = b""
    try:
        while chunk := os.read(leader, 65536):
            err += chunk
    except OSError:  # the terminal's other end is closed: all of it was read
        pass
    os.close(leader)
    assert proc.returncode == 0 and b"imported 5000" in proc.stdout
    assert b"100% " in err and b"MB" in err and b"rows.jsonl: read" in err
