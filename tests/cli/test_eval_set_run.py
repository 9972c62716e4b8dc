"""`forge eval run --eval-set NAME` through the real command: verdict lines, summary, results kept, exit codes."""

from __future__ import annotations

import json

from forge import auth
from forge.store import connect
from forge.store import eval_results as result_store
from forge.store import evals as eval_store
from tests.evalruns.conftest import seed_workspace

PW = "correct horse battery"


def _setup(forge_cli, tmp_path) -> tuple[dict, dict]:
    """The admin made by the command, then a workspace seeded in-process (closed before the command runs)."""
    env = {"FORGE_DB": str(tmp_path / "cli.duckdb"), "FORGE_USER": "admin", "FORGE_PASSWORD": PW}
    assert forge_cli("users", "add", "admin", "--role", "admin", stdin=PW + "\n", env=env).code == 0
    db = connect(tmp_path / "cli.duckdb")
    try:
        admin = auth.get_user(db, "admin")
        access = auth.access(db, admin, auth.resolve_workspace(db, admin).id, "edit")
        seeded = seed_workspace(access)
        seeded = {k: (v.id if hasattr(v, "id") else v) for k, v in seeded.items()}
    finally:
        db.close()
    return env, seeded


def test_json_lines_per_trace_and_eval_then_summaries(forge_cli, tmp_path):
    env, seeded = _setup(forge_cli, tmp_path)
    r = forge_cli("eval", "run", "--eval-set", "Cited answers", "--json", env=env)
    assert r.code == 0, r.err
    lines = [json.loads(line) for line in r.out.strip().splitlines()]
    verdicts = [x for x in lines if "trace_id" in x]
    assert len(verdicts) == 40  # 20 traces of the set x 2 current evals (manual + kept)
    assert {x["eval"] for x in verdicts} == {"cites", "long enough"} and {x["version"] for x in verdicts} == {1}
    assert set(verdicts[0]) == {"eval", "version", "trace_id", "verdict", "reason", "error", "duration_ms"}
    cites = [x for x in verdicts if x["eval"] == "cites"]
    assert sum(x["verdict"] is True for x in cites) == 10 and {x["reason"] for x in cites} == {
        "cites a source",
        "no citation",
    }
    summaries = {x["eval"]: x for x in lines if x.get("summary") == "eval"}
    assert summaries["cites"]["n"] == 20 and summaries["cites"]["accuracy"] == 1.0
    assert summaries["cites"]["kappa"] == 1.0 and summaries["cites"]["contradictions"] == 0
    assert summaries["long enough"]["contradictions"] == 11 and summaries["long enough"]["errors"] == 0
    run = lines[-1]
    assert run["summary"] == "run" and run["status"] == "done" and run["traces"] == 20
    assert run["isolation"] in ("full", "reduced")
    # The results are kept, per eval version and trace.
    db = connect(tmp_path / "cli.duckdb")
    try:
        admin = auth.get_user(db, "admin")
        access = auth.access(db, admin, auth.resolve_workspace(db, admin).id, "read")
        stored = result_store.get_run(access, run["run_id"])
        assert stored.status == "done" and stored.done == 40 and stored.isolation == run["isolation"]
        v = eval_store.versions(access, seeded["cites"])[0]
        assert len(result_store.version_results(access, v.id)) == 20
    finally:
        db.close()


def test_all_traces_and_text_mode(forge_cli, tmp_path):
    env, _ = _setup(forge_cli, tmp_path)
    r = forge_cli("eval", "run", "--eval-set", "Cited answers", "--all-traces", "--json", env=env)
    assert r.code == 0, r.err
    assert sum('"trace_id"' in line for line in r.out.splitlines()) == 80
    r = forge_cli("eval", "run", "--eval-set", "Cited answers", env=env)
    assert r.code == 0, r.err
    assert "ran 2 eval(s) over 20 trace(s)" in r.out
    assert "cites v1: pass 10 fail 10 errors 0; agreement with ratings n=20 accuracy=100.0% kappa=1.000" in r.out


def test_reduced_isolation_is_said_on_stderr(forge_cli, tmp_path):
    env, _ = _setup(forge_cli, tmp_path)
    r = forge_cli("eval", "run", "--eval-set", "Cited answers", "--json", env={**env, "FORGE_SANDBOX": "reduced"})
    assert r.code == 0, r.err
    assert "reduced isolation" in r.err
    assert json.loads(r.out.strip().splitlines()[-1])["isolation"] == "reduced"


def test_bad_input_exits_2_with_one_line(forge_cli, tmp_path):
    env, seeded = _setup(forge_cli, tmp_path)
    r = forge_cli("eval", "run", "--eval-set", "Nope", env=env)
    assert r.code == 2 and "no eval set named 'Nope'" in r.err and "'Cited answers'" in r.err
    assert len(r.err.strip().splitlines()) == 1 and r.out == ""
    r = forge_cli("eval", "run", env=env)
    assert r.code == 2 and "--eval-set NAME" in r.err
    db = connect(tmp_path / "cli.duckdb")
    try:
        admin = auth.get_user(db, "admin")
        access = auth.access(db, admin, auth.resolve_workspace(db, admin).id, "edit")
        for key in ("cites", "long_enough"):
            eval_store.set_status(access, seeded[key], "rejected")
    finally:
        db.close()
    r = forge_cli("eval", "run", "--eval-set", "Cited answers", env=env)
    assert r.code == 2 and "no evals to run" in r.err and len(r.err.strip().splitlines()) == 1


def test_a_viewer_cannot_run(forge_cli, tmp_path):
    env, _ = _setup(forge_cli, tmp_path)
    assert forge_cli("users", "add", "vera", "--role", "viewer", stdin=PW + "\n", env=env).code == 0
    db = connect(tmp_path / "cli.duckdb")
    try:
        admin = auth.get_user(db, "admin")
        auth.add_member(db, admin, auth.resolve_workspace(db, admin).id, "vera")
    finally:
        db.close()
    r = forge_cli("eval", "run", "--eval-set", "Cited answers", env={**env, "FORGE_USER": "vera"})
    assert r.code == 2 and "viewer" in r.err
