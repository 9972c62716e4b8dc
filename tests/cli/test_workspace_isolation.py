"""Through the `forge` command too, a user reaches only workspaces they belong to."""

from __future__ import annotations

import json

from tests.cli.test_users import ADMIN_PW

ROW = '{"id": "s1", "name": "secret", "input": "launch date?", "output": "12 December", "rating": "pass"}\n'


def _setup(forge_cli, tmp_path):
    assert forge_cli("users", "add", "root", "--role", "admin", stdin=ADMIN_PW + "\n").code == 0
    admin = {"FORGE_USER": "root", "FORGE_PASSWORD": ADMIN_PW}
    # otto exists but belongs to no workspace of root's.
    assert forge_cli("users", "add", "otto", "--role", "analyst", stdin="otto passphrase\n", env=admin).code == 0
    (tmp_path / "secret.jsonl").write_text(ROW)
    r = forge_cli("import", "secret.jsonl", "--eval-set", "Grounded", "--json", env=admin)
    assert r.code == 0, r.err
    assert json.loads(r.out.strip().splitlines()[-1])["imported"] == 1
    return {"FORGE_USER": "otto", "FORGE_PASSWORD": "otto passphrase"}


def test_outsider_cannot_import_into_or_name_a_foreign_workspace(forge_cli, tmp_path):
    otto = _setup(forge_cli, tmp_path)
    (tmp_path / "evil.jsonl").write_text('{"id": "e1", "input": "x", "output": "y"}\n')
    r = forge_cli("import", "evil.jsonl", "--workspace", "default", env=otto)
    assert r.code == 2
    assert "No workspace 'default' that you belong to" in r.err
    # Without --workspace the default one is meant: same refusal, nothing created for him there.
    r = forge_cli("import", "evil.jsonl", env=otto)
    assert r.code == 2
    r = forge_cli("run", "--model", "offline/echo", "--prompt", "hi", "--workspace", "default", env=otto)
    assert r.code == 2 and "belong to" in r.err


def test_viewer_cannot_import(forge_cli, tmp_path):
    _setup(forge_cli, tmp_path)
    admin = {"FORGE_USER": "root", "FORGE_PASSWORD": ADMIN_PW}
    forge_cli(
        "users", "add", "vic", "--role", "viewer", "--workspace", "default", stdin="viewer passphrase\n", env=admin
    )
    r = forge_cli("import", "secret.jsonl", env={"FORGE_USER": "vic", "FORGE_PASSWORD": "viewer passphrase"})
    assert r.code == 2 and "viewer" in r.err
