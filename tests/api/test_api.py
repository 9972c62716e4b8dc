"""The JSON API through its routes (Starlette's test client): auth, isolation, every endpoint."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from forge import api, auth, demo, tokens


@pytest.fixture
def client():
    api.LIMITER.clear()
    with TestClient(Starlette(routes=api.routes())) as c:
        yield c
    api.LIMITER.clear()
    for database in api._dbs.values():
        database.close()
    api._dbs.clear()


@pytest.fixture
def world(db, admin, default_ws, analyst, outsider):
    """Demo data in 'default' (admin, ana); otto only in 'otto-space'; a token each."""
    demo.load_demo(db, admin, default_ws.id)
    made = {name: tokens.create_token(db, user, "test")[0] for name, user in (("ana", analyst), ("otto", outsider))}
    viewer = auth.create_user(db, admin, "vic", "correct horse battery staple", "viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    made["vic"] = tokens.create_token(db, viewer, "test")[0]
    return made


def _h(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


ENDPOINTS = [
    "/api/v1/me",
    "/api/v1/workspaces",
    "/api/v1/traces",
    "/api/v1/traces/anything",
    "/api/v1/eval-sets",
    "/api/v1/eval-sets/Grounded%20answers/ratings",
]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_401_without_or_with_a_bad_token(client, world, path):
    r = client.get(path)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "Bearer" in r.json()["error"]
    for bad in ("forge_" + "x" * 43, world["ana"][:-1], "garbage"):
        r = client.get(path, headers=_h(bad))
        assert r.status_code == 401 and bad not in r.text
    r = client.get(path, headers={"Authorization": "Basic " + base64.b64encode(b"ana:pw").decode()})
    assert r.status_code == 401


def test_revoked_token_and_disabled_user_get_401(client, db, admin, world, analyst):
    assert client.get("/api/v1/me", headers=_h(world["ana"])).status_code == 200
    auth.set_disabled(db, admin, "ana", True)
    assert client.get("/api/v1/me", headers=_h(world["ana"])).status_code == 401
    auth.set_disabled(db, admin, "ana", False)
    tid = tokens.list_tokens(db, analyst)[0]["id"]
    tokens.revoke_token(db, analyst, tid)
    r = client.get("/api/v1/me", headers=_h(world["ana"]))
    assert r.status_code == 401 and "revoked" in r.json()["error"]


def test_me_and_workspaces_show_only_the_users_own(client, world):
    me = client.get("/api/v1/me", headers=_h(world["ana"])).json()
    assert (me["username"], me["role"]) == ("ana", "analyst")

    def names(who: str) -> list[str]:
        return [w["name"] for w in client.get("/api/v1/workspaces", headers=_h(world[who])).json()["workspaces"]]

    assert names("ana") == ["default"]
    assert names("otto") == ["otto-space"]


def test_traces_list_search_and_paging(client, db, world):
    h = _h(world["ana"])
    total = db.scalar("SELECT count(*) FROM traces")
    body = client.get("/api/v1/traces", headers=h).json()
    assert body["workspace"]["name"] == "default" and body["total"] == total and len(body["traces"]) == 50
    every = client.get("/api/v1/traces?limit=1000", headers=h).json()["traces"]
    assert len(every) == total
    # Any window, aligned with the page size or not, is that slice of the whole list.
    for limit, offset in ((7, 0), (7, 3), (10, 65), (5, total - 2), (3, total + 5)):
        got = client.get(f"/api/v1/traces?limit={limit}&offset={offset}", headers=h).json()["traces"]
        assert [t["id"] for t in got] == [t["id"] for t in every[offset : offset + limit]], (limit, offset)
    found = client.get("/api/v1/traces?q=TENT&limit=1000", headers=h).json()
    assert 0 < found["total"] < total and len(found["traces"]) == found["total"]
    expected = db.scalar(
        "SELECT count(*) FROM traces WHERE lower(input_text) LIKE '%tent%' OR lower(output_text) LIKE '%tent%'"
    )
    assert found["total"] == expected
    for bad in ("limit=0", "limit=1001", "limit=ten", "offset=-1"):
        r = client.get(f"/api/v1/traces?{bad}", headers=h)
        assert r.status_code == 400 and r.json()["error"]


def test_workspace_isolation_403_and_404(client, db, world):
    assert client.get("/api/v1/traces?workspace=otto-space", headers=_h(world["ana"])).status_code == 403
    r = client.get("/api/v1/traces?workspace=default", headers=_h(world["otto"]))
    assert r.status_code == 403 and "not a member" in r.json()["error"]
    assert client.get("/api/v1/traces?workspace=nosuch", headers=_h(world["ana"])).status_code == 404
    # The default is 'default': otto is not in it.
    assert client.get("/api/v1/eval-sets", headers=_h(world["otto"])).status_code == 403
    mine = client.get("/api/v1/traces?workspace=otto-space", headers=_h(world["otto"])).json()
    assert mine["total"] == 0 and mine["traces"] == []
    # A workspace can be named by its id too.
    ws_id = db.scalar("SELECT id FROM workspaces WHERE name = 'default'")
    assert client.get(f"/api/v1/traces?workspace={ws_id}", headers=_h(world["ana"])).json()["total"] > 0
    assert client.get(f"/api/v1/traces?workspace={ws_id}", headers=_h(world["otto"])).status_code == 403


def test_one_trace_in_full_and_unknown_elsewhere(client, db, world):
    trace_id = db.scalar("SELECT t.id FROM traces t JOIN ratings r ON r.trace_id = t.id LIMIT 1")
    body = client.get(f"/api/v1/traces/{trace_id}", headers=_h(world["ana"])).json()
    assert body["id"] == trace_id and body["workspace"]["name"] == "default"
    assert body["input_text"] and isinstance(body["steps"], list) and body["ratings"][0]["eval_set"]
    assert client.get(f"/api/v1/traces/{trace_id}", headers=_h(world["otto"])).status_code == 404
    assert client.get(f"/api/v1/traces/{trace_id}?workspace=default", headers=_h(world["otto"])).status_code == 403
    assert client.get("/api/v1/traces/nosuch", headers=_h(world["ana"])).status_code == 404


def test_eval_sets_and_their_ratings(client, db, world):
    sets = client.get("/api/v1/eval-sets", headers=_h(world["vic"])).json()["eval_sets"]
    assert [(s["name"], s["ratings"]) for s in sets] == [
        (demo.DEMO_EVAL_SET, db.scalar("SELECT count(*) FROM ratings"))
    ]
    body = client.get(f"/api/v1/eval-sets/{demo.DEMO_EVAL_SET}/ratings", headers=_h(world["vic"])).json()
    assert body["eval_set"]["criterion"] == demo.DEMO_CRITERION
    assert len(body["ratings"]) == sets[0]["ratings"]
    assert {r["value"] for r in body["ratings"]} <= {"pass", "fail", "neutral"}
    passes = {r["trace_id"] for r in body["ratings"] if r["value"] == "pass"}
    assert {t for t, v in body["labels"].items() if v == "pass"} == passes
    by_id = client.get(f"/api/v1/eval-sets/{sets[0]['id']}/ratings", headers=_h(world["ana"])).json()
    assert by_id["ratings"] == body["ratings"]
    assert client.get("/api/v1/eval-sets/nosuch/ratings", headers=_h(world["ana"])).status_code == 404
    r = client.get(f"/api/v1/eval-sets/{demo.DEMO_EVAL_SET}/ratings?workspace=default", headers=_h(world["otto"]))
    assert r.status_code == 403


def test_the_token_is_never_logged(client, world, caplog):
    caplog.set_level(logging.DEBUG)
    for path in ENDPOINTS:
        client.get(path, headers=_h(world["ana"]))
        client.get(path, headers=_h(world["ana"] + "x"))
    client.post("/api/v1/cli", headers=_h(world["ana"]), json={"argv": ["import", "nosuch.jsonl"]})
    assert world["ana"] not in caplog.text


def test_cli_runs_a_command_as_the_tokens_user(client, db, world, tmp_path):
    rows = [
        {"id": "api-1", "input": "q", "output": "a", "rating": "up"},
        {"id": "api-2", "input": "q2", "output": "a2"},
    ]
    data = "\n".join(json.dumps(r) for r in rows).encode() + b"\nnot json\n"
    body = {
        "argv": ["import", "some/dir/mine.jsonl", "--eval-set", "API set", "--json"],
        "files": [{"path": "some/dir/mine.jsonl", "data": base64.b64encode(data).decode()}],
    }
    r = client.post("/api/v1/cli", headers=_h(world["ana"]), json=body).json()
    assert r["exit_code"] == 0, r
    summary = json.loads(r["stdout"])
    assert summary["imported"] == 2 and summary["failed"] == 1
    # Error messages name the file as the client gave it, not the server's temporary copy.
    assert summary["errors"][0]["file"] == "some/dir/mine.jsonl"
    assert db.scalar("SELECT count(*) FROM eval_sets WHERE name = 'API set'") == 1
    rater = db.scalar(
        "SELECT r.user_id FROM ratings r JOIN eval_sets e ON e.id = r.eval_set_id WHERE e.name = 'API set'"
    )
    assert rater is None or rater == db.scalar("SELECT id FROM users WHERE username = 'ana'")


def test_cli_permissions_and_bad_input(client, world):
    h = _h(world["vic"])
    r = client.post("/api/v1/cli", headers=h, json={"argv": ["import", "x.jsonl"], "files": []}).json()
    assert r["exit_code"] == 2 and "viewer" in r["stderr"] and r["stdout"] == ""
    r = client.post(
        "/api/v1/cli",
        headers=_h(world["ana"]),
        json={"argv": ["users", "add", "eve", "--role", "viewer"], "stdin": "a-long-password\n"},
    ).json()
    assert r["exit_code"] == 2 and "Only an admin" in r["stderr"]
    r = client.post("/api/v1/cli", headers=h, json={"argv": ["import"]}).json()
    assert r["exit_code"] == 2 and "usage: forge import" in r["stderr"]
    r = client.post(
        "/api/v1/cli", headers=h, json={"argv": ["run", "--model", "offline/echo", "--prompt", "{{x}}"]}
    ).json()
    assert r["exit_code"] == 2 and r["stderr"].startswith("forge: ")
    assert client.post("/api/v1/cli", headers=h, json={"argv": "import x"}).status_code == 400
    assert client.post("/api/v1/cli", headers=h, content=b"not json").status_code == 400
    assert client.post("/api/v1/cli", json={"argv": ["import", "x"]}).status_code == 401


def test_cli_never_reads_server_files_named_by_the_client(client, world, tmp_path):
    """A path the client did not upload is not opened on the server."""
    secret = tmp_path / "server-side.jsonl"
    secret.write_text('{"id": "s1", "input": "server", "output": "secret"}\n')
    r = client.post("/api/v1/cli", headers=_h(world["ana"]), json={"argv": ["import", str(secret), "--json"]}).json()
    assert r["exit_code"] == 2 and "file not found" in r["stderr"] and str(secret) in r["stderr"]


def test_index_lists_the_endpoints_only_with_a_token(client, world):
    assert client.get("/api/v1").status_code == 401
    assert client.get("/api/v1/openapi.json").status_code == 401
    body = client.get("/api/v1", headers=_h(world["vic"])).json()
    assert "GET /api/v1/me" in body["endpoints"] and "Bearer" in body["auth"]
    assert body["otlp"].startswith("POST /api/public/otel/v1/traces")


def test_a_file_option_the_server_does_not_map_is_refused():
    """A new option naming a file, not yet in forge.remote's lists, is refused rather than read on the server."""
    import argparse

    from forge import cli, remote

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    s = sub.add_parser("dump")
    s.add_argument("--to", metavar="FILE")
    s.add_argument("--traces", metavar="FILE")
    assert remote.unmapped_file_options(parser, parser.parse_args(["dump", "--to", "/etc/x", "--traces", "t"])) == [
        "--to"
    ]
    # Every file option of today's commands is mapped.
    real = cli.build_parser()
    for argv in (
        ["import", "a.jsonl", "b.csv"],
        ["eval", "run", "e.py", "--traces", "t.jsonl"],
        ["eval", "synth", "--traces", "t.jsonl", "--out", "e.py"],
        ["run", "--model", "m", "--prompt", "p", "--context", "c.txt"],
        ["matrix", "--eval-set", "x", "--csv", "o.csv"],
    ):
        assert remote.unmapped_file_options(real, real.parse_args(argv)) == [], argv


def test_size_limit_is_a_413_naming_it(client, world, monkeypatch):
    monkeypatch.setenv("FORGE_API_MAX_BODY_MB", "0.01")
    body = [{"id": f"s{i}", "output": "x" * 100} for i in range(200)]
    r = client.post("/api/v1/traces", headers=_h(world["ana"]), json=body)
    assert r.status_code == 413 and "0.01 MB" in r.json()["error"] and "FORGE_API_MAX_BODY_MB" in r.json()["error"]
    assert client.post("/api/v1/traces", headers=_h(world["ana"]), json=body[:5]).status_code == 200
    # Without a token the body is not even read: 401 first.
    assert client.post("/api/v1/traces", json=body).status_code == 401


def test_rate_limit_is_per_token_with_retry_after(client, world, monkeypatch):
    monkeypatch.setenv("FORGE_API_RATE_LIMIT", "3")
    codes = [client.get("/api/v1/me", headers=_h(world["ana"])).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/api/v1/me", headers=_h(world["ana"]))
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 20
    assert "3 requests per minute" in r.json()["error"]
    assert client.get("/api/v1/me", headers=_h(world["vic"])).status_code == 200


def test_expired_token_is_refused_naming_the_expiry(client, db, world, analyst):
    token, row = tokens.create_token(db, analyst, "short", expires_in_days=1)
    assert client.get("/api/v1/me", headers=_h(token)).status_code == 200
    db.execute("UPDATE api_tokens SET expires_at = created_at - INTERVAL 1 SECOND WHERE id = ?", [row["id"]])
    r = client.get("/api/v1/me", headers=_h(token))
    assert r.status_code == 401 and "expired on" in r.json()["error"] and token not in r.text


def test_generate_without_a_configured_provider_says_what_to_set(client, world):
    r = client.post(f"/api/v1/eval-sets/{demo.DEMO_EVAL_SET}/generate", headers=_h(world["ana"]), json={})
    assert r.status_code == 400 and "OPENAI_API_KEY" in r.json()["error"] and '"model"' in r.json()["error"]


def test_otlp_ingestion_shares_the_per_token_rate_limit(world, monkeypatch):
    from forge import otel_api

    monkeypatch.setenv("FORGE_API_RATE_LIMIT", "2")
    api.LIMITER.clear()
    body = json.dumps({"resourceSpans": []}).encode()
    headers = {**_h(world["ana"]), "Content-Type": "application/json"}
    try:
        with TestClient(Starlette(routes=otel_api.routes())) as c:
            codes = [c.post(otel_api.PATH, content=body, headers=headers).status_code for _ in range(3)]
            assert codes[:2] != [429, 429] and codes[2] == 429
            r = c.post(otel_api.PATH, content=body, headers=headers)
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
            assert "FORGE_API_RATE_LIMIT" in r.json()["message"]
    finally:
        api.LIMITER.clear()
        for database in api._dbs.values():
            database.close()
        api._dbs.clear()
