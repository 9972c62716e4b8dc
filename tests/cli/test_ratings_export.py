"""`forge ratings export`: every rating with rater, note, criterion version and the resolved label."""

from __future__ import annotations

import csv
import io
import json

from tests.cli.test_users import ADMIN_PW

ROWS = (
    '{"id": "a", "input": "q1", "output": "x", "rating": "pass", "note": "fine"}\n'
    '{"id": "b", "input": "q2", "output": "y", "rating": "down"}\n'
    '{"id": "c", "input": "q3", "output": "z"}\n'
)


def test_export_json_and_csv(forge_cli, tmp_path):
    assert forge_cli("users", "add", "root", "--role", "admin", stdin=ADMIN_PW + "\n").code == 0
    env = {"FORGE_USER": "root", "FORGE_PASSWORD": ADMIN_PW}
    (tmp_path / "rated.jsonl").write_text(ROWS)
    assert forge_cli("import", "rated.jsonl", "--eval-set", "Grounded", env=env).code == 0

    r = forge_cli("ratings", "export", "--eval-set", "Grounded", "--json", env=env)
    assert r.code == 0, r.err
    rows = [json.loads(line) for line in r.out.splitlines()]
    assert len(rows) == 2
    assert {row["value"]: row["resolved_label"] for row in rows} == {"pass": "pass", "fail": "fail"}
    assert {row["note"] for row in rows} == {"fine", None}
    assert all(row["criterion_version"] == 1 and row["rater"].startswith("file:") for row in rows)

    r = forge_cli("ratings", "export", "--eval-set", "Grounded", "--csv", "out.csv", env=env)
    assert r.code == 0, r.err
    table = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert list(table[0]) == ["trace_id", "rater", "value", "note", "criterion_version", "resolved_label"]
    assert sorted(t["value"] for t in table) == ["fail", "pass"]


def test_unknown_set_and_outsider_are_refused(forge_cli, tmp_path):
    assert forge_cli("users", "add", "root", "--role", "admin", stdin=ADMIN_PW + "\n").code == 0
    env = {"FORGE_USER": "root", "FORGE_PASSWORD": ADMIN_PW}
    (tmp_path / "rated.jsonl").write_text(ROWS)
    assert forge_cli("import", "rated.jsonl", "--eval-set", "Grounded", env=env).code == 0
    r = forge_cli("ratings", "export", "--eval-set", "Nope", env=env)
    assert r.code == 2 and "No eval set called 'Nope'" in r.err and "Grounded" in r.err
    assert forge_cli("users", "add", "otto", "--role", "analyst", stdin="otto passphrase\n", env=env).code == 0
    r = forge_cli(
        "ratings", "export", "--eval-set", "Grounded", env={"FORGE_USER": "otto", "FORGE_PASSWORD": "otto passphrase"}
    )
    assert r.code == 2 and "belong to" in r.err and "fine" not in r.out
