"""`forge matrix` through the real command (a subprocess on the test's database)."""

from __future__ import annotations

import csv
import itertools
import json

from tests.conftest import PASSWORD
from tests.stubs.langfuse_stub import LangfuseStub

_keys = itertools.count()


def test_matrix_csv_as_design_says(known, db, forge_cli, tmp_path):
    db.close()  # the command opens the file itself
    env = {"FORGE_USER": "admin", "FORGE_PASSWORD": PASSWORD}
    out = tmp_path / "matrix.csv"
    res = forge_cli("matrix", "--eval-set", "Grounded answers", "--csv", str(out), env=env)
    assert res.code == 0, res.err
    assert "10 traces x 3 evals: 10 contradictions" in res.out
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["trace_id", "human_rating", "alpha v2", "beta v1", "gamma v1"]
    by_id = {r["trace_id"]: r for r in rows}
    assert len(by_id) == 10
    assert by_id[known.trace_ids[9]] == {
        "trace_id": known.trace_ids[9],
        "human_rating": "fail",
        "alpha v2": "error",
        "beta v1": "pass",
        "gamma v1": "pass",
    }
    assert by_id[known.trace_ids[7]]["human_rating"] == ""  # unrated

    res = forge_cli("matrix", "--eval-set", "Grounded answers", "--json", env=env)
    summary = json.loads(res.out)
    assert (summary["contradiction"], summary["error"], summary["traces"]) == (10, 1, 10)

    res = forge_cli("matrix", "--eval-set", "No such set", env=env)
    assert res.code == 2 and "no eval set 'No such set'" in res.err


def test_matrix_push_langfuse(known, db, forge_cli):
    db.close()
    with LangfuseStub([], public_key=f"pk-lf-cli-{next(_keys)}") as stub:
        env = {"FORGE_USER": "admin", "FORGE_PASSWORD": PASSWORD, **stub.env()}
        res = forge_cli("matrix", "--eval-set", "Grounded answers", "--push-langfuse", "--json", env=env)
        assert res.code == 0, res.err
        assert json.loads(res.out)["langfuse"]["pushed"] == 20
        assert len(stub.pushed_scores) == 20
        res = forge_cli("matrix", "--eval-set", "Grounded answers", "--push-langfuse", env=env)
        assert "Langfuse: pushed 20, skipped 20, failed 0" in res.out
        assert len(stub.pushed_scores) == 20
