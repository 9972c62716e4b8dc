"""`forge users add` and the login every database command needs."""

from __future__ import annotations

import json

import pytest

from forge import auth
from forge.store import connect

ADMIN_PW = "admin passphrase 1"


def _login(user="root", password=ADMIN_PW):
    return {"FORGE_USER": user, "FORGE_PASSWORD": password}


def test_first_user_becomes_admin_then_adds_others(forge_cli, tmp_path):
    r = forge_cli("users", "add", "root", "--role", "admin", stdin=ADMIN_PW + "\n")
    assert r.code == 0, r.err
    assert "created admin 'root'" in r.out

    r = forge_cli(
        "users",
        "add",
        "ana",
        "--role",
        "analyst",
        "--workspace",
        "default",
        "--json",
        stdin="analyst passphrase\n",
        env=_login(),
    )
    assert r.code == 0, r.err
    assert json.loads(r.out.strip()) == {"username": "ana", "role": "analyst", "id": json.loads(r.out)["id"]}

    db = connect(tmp_path / "forge.duckdb")
    try:
        ana = auth.authenticate(db, "ana", "analyst passphrase")
        assert [w.name for w in auth.workspaces_for(db, ana)] == ["default"]
    finally:
        db.close()


def test_first_user_must_be_admin(forge_cli):
    r = forge_cli("users", "add", "ana", "--role", "analyst", stdin="analyst passphrase\n")
    assert r.code == 2
    assert "first user must be an admin" in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_adding_users_needs_an_admin_login(forge_cli):
    assert forge_cli("users", "add", "root", "--role", "admin", stdin=ADMIN_PW + "\n").code == 0
    r = forge_cli("users", "add", "eve", "--role", "admin", stdin="eve passphrase 1\n")
    assert r.code == 2 and "login required" in r.err
    r = forge_cli(
        "users", "add", "eve", "--role", "admin", stdin="eve passphrase 1\n", env=_login(password="nope nope nope")
    )
    assert r.code == 2 and "Wrong user name or password" in r.err
    forge_cli("users", "add", "ana", "--role", "analyst", stdin="analyst passphrase\n", env=_login())
    r = forge_cli(
        "users", "add", "eve", "--role", "admin", stdin="eve passphrase 1\n", env=_login("ana", "analyst passphrase")
    )
    assert r.code == 2 and "Only an admin" in r.err


def test_short_password_and_bad_role_refused(forge_cli):
    r = forge_cli("users", "add", "root", "--role", "admin", stdin="short\n")
    assert r.code == 2 and "at least" in r.err
    r = forge_cli("users", "add", "root", "--role", "superuser", stdin=ADMIN_PW + "\n")
    assert r.code == 2 and "invalid choice" in r.err


def test_cli_login_is_throttled_too(forge_cli):
    forge_cli("users", "add", "root", "--role", "admin", stdin=ADMIN_PW + "\n")
    for _ in range(5):
        forge_cli(
            "users", "add", "x1", "--role", "viewer", stdin="viewer passphrase\n", env=_login(password="bad password!")
        )
    r = forge_cli("users", "add", "x1", "--role", "viewer", stdin="viewer passphrase\n", env=_login())
    assert r.code == 2 and "Too many failed logins" in r.err


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["import", "--help"],
        ["import-langfuse", "--help"],
        ["run", "--help"],
        ["eval", "--help"],
        ["eval", "run", "--help"],
        ["eval", "synth", "--help"],
        ["eval", "generate", "--help"],
        ["matrix", "--help"],
        ["users", "--help"],
        ["users", "add", "--help"],
    ],
)
def test_every_command_has_help(forge_cli, command):
    r = forge_cli(*command)
    assert r.code == 0, r.err
    assert "usage: forge" in r.out


def test_database_commands_refuse_without_login_when_users_exist(forge_cli, tmp_path):
    forge_cli("users", "add", "root", "--role", "admin", stdin=ADMIN_PW + "\n")
    (tmp_path / "t.jsonl").write_text('{"id": "1", "input": "q", "output": "a"}\n')
    for args in (
        ["import", "t.jsonl"],
        ["import-langfuse"],
        ["run", "--model", "offline/echo", "--prompt", "hi"],
        ["matrix", "--eval-set", "x"],
    ):
        r = forge_cli(*args)
        assert r.code == 2, (args, r.out, r.err)
        assert ("login required" in r.err) or (args[0] == "matrix" and "not available" in r.err), (args, r.err)


def test_a_database_held_by_the_app_gets_a_clear_one_line_message(forge_cli, db):
    """DuckDB lets one process write a file: the `db` fixture plays the running app here."""
    r = forge_cli("users", "add", "root", "--role", "admin", stdin=ADMIN_PW + "\n")
    assert r.code == 1
    assert "is in use by another process" in r.err and "Import page" in r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
