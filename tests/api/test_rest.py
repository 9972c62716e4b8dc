"""The REST API over real HTTP: a running server (python -m forge.ui.server) on a free port.

Tokens (missing, wrong, revoked, expired, another workspace's), ingestion, uploads and jobs,
run, eval sets (ratings, synthesis, eval runs, matrix), limits, the OpenAPI description, and
the server log (never a token in it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.api.server import running_server, team
from tests.conftest import PASSWORD

RATE = 240  # requests per minute per token, for this server
MAX_MB = 2


def _seed(db_path: Path) -> dict[str, str]:
    """Users and their tokens, made before the server holds the file."""
    from forge import auth, tokens

    with team(db_path) as (db, admin, ws, ana):
        vic = auth.create_user(db, admin, "vic", PASSWORD, "viewer")
        auth.add_member(db, admin, ws.id, "vic")
        otto = auth.create_user(db, admin, "otto", PASSWORD, "analyst")
        auth.add_member(db, admin, auth.create_workspace(db, admin, "otto-space").id, "otto")
        made = {
            "ana": tokens.create_token(db, ana, "main")[0],
            "ana_reader": tokens.create_token(db, ana, "reader", expires_in_days=30)[0],
            "ana_burst": tokens.create_token(db, ana, "burst")[0],
            "ana_app": tokens.create_token(db, ana, "app")[0],
            "vic": tokens.create_token(db, vic, "main")[0],
            "otto": tokens.create_token(db, otto, "main")[0],
        }
        revoked, row = tokens.create_token(db, ana, "revoked")
        tokens.revoke_token(db, ana, row["id"])
        made["revoked"] = revoked
        expired, row = tokens.create_token(db, ana, "expired", expires_in_days=1)
        # A token made yesterday for a day: its expiry is in the past (no waiting a day in a test).
        db.execute("UPDATE api_tokens SET expires_at = now()::TIMESTAMP - INTERVAL 1 HOUR WHERE id = ?", [row["id"]])
        made["expired"] = expired
        return made


def _langfuse_traces(n: int) -> list[tuple[dict, list[dict]]]:
    out = []
    for i in range(n):
        tid = f"lf-{i}"
        ts = f"2026-01-02T03:04:{i:02d}.000Z"
        obs = [
            {
                "id": f"{tid}-0",
                "traceId": tid,
                "type": "GENERATION",
                "name": "answer",
                "startTime": ts,
                "endTime": ts,
                "input": [{"role": "user", "content": f"Question {i}?"}],
                "output": {"role": "assistant", "content": f"Answer {i}."},
                "model": "gpt-4o-mini",
            }
        ]
        out.append(({"id": tid, "name": "lf", "timestamp": ts, "tags": ["lf"]}, obs))
    return out


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """(base url, tokens by name, log path, db path) of a running server with a Langfuse stub configured."""
    from tests.stubs.langfuse_stub import LangfuseStub
    from tests.stubs.openai_stub import OpenAIStub

    tmp = tmp_path_factory.mktemp("rest")
    db_path = tmp / "served.duckdb"
    made = _seed(db_path)
    log_path = tmp / "server.log"
    # A slow LLM (1 s a call): a generation job runs long enough to be cancelled.
    with LangfuseStub(_langfuse_traces(7), public_key="pk-lf-rest") as stub, OpenAIStub(delay=1.0) as llm:
        env = {"FORGE_API_RATE_LIMIT": str(RATE), "FORGE_API_MAX_BODY_MB": str(MAX_MB), **stub.env()}
        env.update({"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": llm.base_url})
        with running_server(db_path, log_path, env) as url:
            yield url, made, log_path, db_path


@pytest.fixture
def as_user(srv):
    url = srv[0]
    clients = []

    def make(name: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {srv[1][name]}"} if name else {}
        c = httpx.Client(base_url=url, headers=headers, timeout=60)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def _wait_job(client: httpx.Client, job: dict, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        got = client.get(job["url"]).json()["job"]
        if got["status"] not in ("queued", "running"):
            return got
        assert time.monotonic() < deadline, got
        time.sleep(0.2)


def _concrete(path: str) -> str:
    return re.sub(r"{\w+}", "x", path)


# ---------------------------------------------------------------- tokens


def test_no_endpoint_answers_without_a_valid_token(srv, as_user):
    from forge.api import ENDPOINTS, PREFIX

    checked = 0
    for ep in ENDPOINTS:  # the index and the OpenAPI description too
        path = PREFIX + _concrete(ep.path)
        for who, reason in ((None, "missing token"), ("revoked", "revoked"), ("expired", "expired on")):
            r = as_user(who).request(ep.method, path, json={})
            assert r.status_code == 401, (ep.method, path, who, r.text)
            assert reason in r.json()["error"] and r.headers["www-authenticate"] == "Bearer"
        for bad in ("forge_" + "x" * 43, srv[1]["ana"] + "x", "garbage"):
            r = httpx.request(ep.method, srv[0] + path, headers={"Authorization": f"Bearer {bad}"}, json={})
            assert r.status_code == 401 and bad not in r.text
        checked += 1
    assert checked >= 20


def test_another_workspaces_token_is_refused(as_user):
    otto, ana = as_user("otto"), as_user("ana")
    tid = ana.post("/api/v1/traces", json={"id": "iso-1", "input": "q", "output": "a"}).json()["ids"][0]["id"]
    assert otto.get("/api/v1/traces?workspace=default").status_code == 403
    r = otto.post("/api/v1/traces?workspace=default", json={"id": "x", "output": "y"})
    assert r.status_code == 403 and "not a member" in r.json()["error"]
    assert (
        otto.post("/api/v1/runs?workspace=default", json={"models": ["offline/echo"], "prompt": "hi"}).status_code
        == 403
    )
    assert otto.get(f"/api/v1/traces/{tid}").status_code == 404  # someone else's trace is simply unknown
    assert otto.get("/api/v1/jobs?workspace=default").status_code == 403
    mine = otto.post("/api/v1/traces?workspace=otto-space", json={"id": "iso-1", "output": "otto's"}).json()
    assert mine["imported"] == 1 and mine["workspace"]["name"] == "otto-space"
    assert ana.get(f"/api/v1/traces/{tid}").json()["output_text"] == "a"


def test_a_viewer_may_read_but_not_write(as_user):
    vic = as_user("vic")
    assert vic.get("/api/v1/traces").status_code == 200
    r = vic.post("/api/v1/traces", json={"id": "v1", "output": "a"})
    assert r.status_code == 403 and "viewer" in r.json()["error"]
    assert vic.post("/api/v1/imports/langfuse", json={}).status_code == 403


# ---------------------------------------------------------------- ingestion, uploads, Langfuse


def test_ingestion_keeps_good_traces_and_names_bad_ones(as_user):
    ana = as_user("ana")
    body = [
        {"id": "in-1", "input": "What is 2+2?", "output": "4", "tags": ["math"], "metadata": {"app": "calc"}},
        {"id": "in-2", "input": "hi"},  # no output
        {"id": "in-3", "input": "q", "output": "a", "tags": [{"not": "a string"}]},
        "not an object",
        {
            "id": "in-5",
            "input": [{"role": "user", "content": "Hello"}],
            "output": {"role": "assistant", "content": "Hi!"},
        },
    ]
    r = ana.post("/api/v1/traces", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["received"], got["imported"], got["failed"]) == (5, 2, 3)
    assert [(e["index"], e["field"]) for e in got["errors"]] == [(1, "output"), (2, "tags[0]"), (3, "row")]
    stored = {i["index"]: i["id"] for i in got["ids"]}
    assert sorted(stored) == [0, 4]
    one = ana.get(f"/api/v1/traces/{stored[4]}").json()
    assert "Hello" in one["input_text"] and "Hi!" in one["output_text"]
    # Sent again: updated, not duplicated; a single object and {"traces": [...]} work too.
    again = ana.post("/api/v1/traces", json={"traces": [body[0]]}).json()
    assert (again["imported"], again["updated"]) == (0, 1)
    assert ana.post("/api/v1/traces", json=body[4]).json()["updated"] == 1
    # Nothing valid: 400 naming the first bad trace; not JSON, or no traces: 400.
    r = ana.post("/api/v1/traces", json=[{"id": "x"}])
    assert r.status_code == 400 and "trace 0 [output]" in r.json()["error"]
    assert ana.post("/api/v1/traces", content=b"{not json").status_code == 400
    assert ana.post("/api/v1/traces", json=[]).status_code == 400
    assert ana.post("/api/v1/traces", json=42).status_code == 400


def test_deeply_nested_traces_are_named_not_a_server_error(as_user):
    ana = as_user("ana")
    deep = "[" * 500 + "]" * 500  # parses, but too deep for a trace: that one trace is refused
    body = f'[{{"id": "deep-1", "input": "q", "output": "a", "metadata": {{"x": {deep}}}}},'
    body += ' {"id": "fine-1", "input": "q", "output": "a"}]'
    r = ana.post("/api/v1/traces", content=body.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["imported"] + got["updated"] == 1 and [e["index"] for e in got["errors"]] == [0]
    assert "deep" in got["errors"][0]["message"]
    # Too deep to read at all: a 400 that says so, not a 500.
    r = ana.post(
        "/api/v1/traces", content=b"[" * 100_000 + b"]" * 100_000, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and "nested too deeply" in r.json()["error"]


def test_upload_imports_files_as_a_job(as_user, tmp_path):
    ana = as_user("ana")
    rows = "\n".join(
        json.dumps({"id": f"up-{i}", "input": f"q{i}", "output": f"a{i}", "rating": "up" if i % 2 else "down"})
        for i in range(6)
    )
    files = [("file", ("first.jsonl", rows + "\nnot json\n")), ("file", ("second.csv", "id,input,output\nup-c,q,a\n"))]
    r = ana.post("/api/v1/traces/upload", files=files, data={"eval_set": "Uploaded"})
    assert r.status_code == 202, r.text
    assert r.headers["location"] == r.json()["job"]["url"]
    job = _wait_job(ana, r.json()["job"])
    assert job["status"] == "done", job
    result = job["result"]
    assert (result["imported"], result["failed"]) == (7, 1)
    assert result["errors"][0]["file"] == "first.jsonl" and result["errors"][0]["line"] == 7
    sets = {s["name"]: s for s in ana.get("/api/v1/eval-sets").json()["eval_sets"]}
    assert sets["Uploaded"]["ratings"] == 6
    assert ana.post("/api/v1/traces/upload", json={"x": 1}).status_code == 415
    assert ana.post("/api/v1/traces/upload", files=[("other", ("a.txt", "x"))]).status_code == 400


def test_langfuse_import_is_a_job(as_user):
    ana = as_user("ana")
    r = ana.post("/api/v1/imports/langfuse", json={"limit": 5})
    assert r.status_code == 202, r.text
    job = _wait_job(ana, r.json()["job"])
    assert job["status"] == "done" and job["kind"] == "import-langfuse", job
    assert job["result"]["imported"] == 5
    listed = ana.get("/api/v1/traces?q=Question&limit=100").json()
    assert {t["source"] for t in listed["traces"]} == {"langfuse"} and listed["total"] == 5
    assert ana.post("/api/v1/imports/langfuse", json={"limit": "five"}).status_code == 400
    jobs = ana.get("/api/v1/jobs").json()["jobs"]
    assert job["id"] in [j["id"] for j in jobs]


# ---------------------------------------------------------------- run, eval sets, matrix, jobs


def test_run_is_forge_run(as_user):
    ana = as_user("ana")
    r = ana.post(
        "/api/v1/runs",
        json={
            "models": ["offline/echo"],
            "prompt": "Summarise {{x}}",
            "vars": {"x": "the tent"},
            "context": ["It sleeps four."],
        },
    )
    assert r.status_code == 200, r.text
    (res,) = r.json()["results"]
    assert res["model"] == "offline/echo" and res["error"] is None and "offline/echo" in res["output"]
    r = ana.post("/api/v1/runs", json={"models": ["offline/echo"], "prompt": "Summarise {{x}}"})
    assert r.status_code == 400 and "{{x}}" in r.json()["error"]
    assert ana.post("/api/v1/runs", json={"prompt": "hi"}).status_code == 400
    # The playground run is kept as a trace, as `forge run` keeps it.
    assert ana.get("/api/v1/traces?q=the%20tent").json()["total"] >= 1


def test_eval_set_ratings_synthesis_eval_run_and_matrix(srv, as_user, shared_data, tmp_path):
    ana, vic = as_user("ana"), as_user("vic")
    rows = [json.loads(line) for line in (shared_data / "halueval_general.jsonl").read_text().splitlines()[:80]]
    got = ana.post("/api/v1/traces?eval_set=Halu", json=rows).json()
    assert got["imported"] == 80 and got["ratings"]["eval_set"] == "Halu", got
    labelled = got["ratings"]["stored"]
    # Rate as the token's user; a viewer may not; an unknown trace is 404.
    tid = got["ids"][0]["id"]
    r = ana.post("/api/v1/eval-sets/Halu/ratings", json={"trace_id": tid, "value": "down", "note": "made up"})
    assert r.status_code == 200 and r.json()["stored"] == 1 and r.json()["rater"] == "ana"
    mine = [x for x in ana.get("/api/v1/eval-sets/Halu/ratings").json()["ratings"] if x["trace_id"] == tid]
    assert any(x["value"] == "fail" and x["note"] == "made up" for x in mine)
    assert vic.post("/api/v1/eval-sets/Halu/ratings", json={"trace_id": tid, "value": "up"}).status_code == 403
    assert ana.post("/api/v1/eval-sets/Halu/ratings", json={"trace_id": "nosuch", "value": "up"}).status_code == 404
    r = ana.post("/api/v1/eval-sets/Halu/ratings", json={"trace_id": tid, "value": "maybe"})
    assert r.status_code == 400 and "ratings[0].value" in r.json()["error"]
    assert ana.post("/api/v1/eval-sets/nosuch/synth").status_code == 404
    # Synthesis, then an eval run, as jobs.
    job = _wait_job(ana, ana.post("/api/v1/eval-sets/Halu/synth").json()["job"], timeout=240)
    assert job["status"] == "done", job
    kept = [c for c in job["result"]["candidates"] if c["kept"]]
    assert kept, job["result"]
    job = _wait_job(ana, ana.post("/api/v1/eval-sets/Halu/runs", json={}).json()["job"], timeout=240)
    assert job["status"] == "done", job
    assert job["result"]["traces"] == 80 and job["result"]["verdicts"] == 80 * job["result"]["evals"]
    # The finished job cannot be cancelled.
    assert ana.post(job["url"] + "/cancel").status_code == 409
    # The matrix, as JSON and as CSV (the same rows).
    m = ana.get("/api/v1/eval-sets/Halu/matrix").json()
    assert m["traces"] == 80 and len(m["rows"]) == 80 and m["evals"]
    assert m["agree"] + m["contradiction"] + m["error"] + m["unrated"] == 80 * len(m["evals"])
    assert sum(1 for row in m["rows"] if row["human_rating"] in ("pass", "fail")) == labelled
    csv = ana.get("/api/v1/eval-sets/Halu/matrix?format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].split(",")[:2] == ["trace_id", "human_rating"] and len(lines) == 81
    assert ana.get("/api/v1/eval-sets/Halu/matrix?format=xml").status_code == 400
    # The `forge` command against the server runs the same evals (exit 0, one verdict line per eval).
    env = {k: v for k, v in os.environ.items() if k not in ("FORGE_USER", "FORGE_PASSWORD")}
    env.update({"FORGE_URL": srv[0], "FORGE_TOKEN": srv[1]["ana"], "FORGE_DB": str(tmp_path / "none.duckdb")})
    out = subprocess.run(
        [sys.executable, "-m", "forge", "eval", "run", "--eval-set", "Halu", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() and not (tmp_path / "none.duckdb").exists()


def test_a_running_generation_job_can_be_cancelled(as_user, shared_data):
    ana, vic = as_user("ana"), as_user("vic")
    rows = [json.loads(line) for line in (shared_data / "halueval_general.jsonl").read_text().splitlines()[100:140]]
    assert ana.post("/api/v1/traces?eval_set=Gen", json=rows).json()["ratings"]["stored"] == 40
    r = ana.post("/api/v1/eval-sets/Gen/generate", json={"model": "openai/gpt-4o-mini", "k": 0})
    assert r.status_code == 400 and "k must be" in r.json()["error"]
    assert vic.post("/api/v1/eval-sets/Gen/generate", json={}).status_code == 403
    r = ana.post("/api/v1/eval-sets/Gen/generate", json={"model": "openai/gpt-4o-mini", "k": 5})
    assert r.status_code == 202, r.text
    job = r.json()["job"]
    deadline = time.monotonic() + 60
    while ana.get(job["url"]).json()["job"]["status"] == "queued":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert vic.post(job["url"] + "/cancel").status_code == 403  # a viewer may not stop an analyst's work
    r = ana.post(job["url"] + "/cancel")
    assert r.status_code == 202 and r.json()["cancelling"] is True
    done = _wait_job(ana, job)
    assert done["status"] == "cancelled" and "Cancelled" in done["error"], done
    assert ana.post(job["url"] + "/cancel").status_code == 409


def test_jobs_unknown_and_foreign(as_user):
    ana, otto = as_user("ana"), as_user("otto")
    job = ana.post("/api/v1/imports/langfuse", json={"limit": 1}).json()["job"]
    assert otto.get(job["url"]).status_code == 404
    assert otto.post(job["url"] + "/cancel").status_code == 404
    assert ana.get("/api/v1/jobs/nosuch").status_code == 404
    _wait_job(ana, job)


# ---------------------------------------------------------------- limits, description, logs


def test_requests_above_the_size_limit_get_413_naming_it(as_user):
    ana = as_user("ana")
    big = [{"id": f"big-{i}", "input": "x" * 1000, "output": "y" * 1000} for i in range(MAX_MB * 600)]
    before = ana.get("/api/v1/traces?limit=1").json()["total"]
    r = ana.post("/api/v1/traces", json=big)
    assert r.status_code == 413
    assert f"{MAX_MB:g} MB" in r.json()["error"] and "FORGE_API_MAX_BODY_MB" in r.json()["error"]
    assert ana.get("/api/v1/traces?limit=1").json()["total"] == before


def test_rate_limit_answers_429_with_retry_after_per_token(as_user):
    burst, other = as_user("ana_burst"), as_user("vic")
    codes = []
    for _ in range(RATE * 3):
        r = burst.get("/api/v1/me")
        codes.append(r.status_code)
        if r.status_code == 429:
            break
    assert codes[-1] == 429 and len(codes) >= RATE - 5, len(codes)
    assert int(r.headers["retry-after"]) >= 1 and "FORGE_API_RATE_LIMIT" in r.json()["error"]
    assert other.get("/api/v1/me").status_code == 200  # another token is not held back


def test_openapi_lists_every_served_route_and_nothing_else(srv, as_user):
    from forge.api import routes

    spec = as_user("vic").get("/api/v1/openapi.json").json()  # any valid token reads the description
    assert spec["openapi"].startswith("3.")
    described = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    served = {(m, r.path) for r in routes() for m in r.methods - {"HEAD"}}
    assert described == served
    for (method, path), op in ((k, spec["paths"][k[1]][k[0].lower()]) for k in described):
        assert op["summary"] and op["responses"], (method, path)
        for name in re.findall(r"{(\w+)}", path):
            assert any(p["in"] == "path" and p["name"] == name for p in op["parameters"]), (method, path)
        if method == "POST" and path not in ("/api/v1/eval-sets/{name}/synth", "/api/v1/jobs/{id}/cancel"):
            assert "requestBody" in op, path
    assert "413" in spec["paths"]["/api/v1/traces"]["post"]["responses"]
    # Every schema is valid JSON Schema (OpenAPI 3.1 uses draft 2020-12), and what the tests send fits it.
    from jsonschema import Draft202012Validator

    for ops in spec["paths"].values():
        for op in ops.values():
            for media in op.get("requestBody", {}).get("content", {}).values():
                Draft202012Validator.check_schema(media["schema"])
    ingest = Draft202012Validator(
        spec["paths"]["/api/v1/traces"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    )
    assert ingest.is_valid([{"id": "a", "input": "q", "output": "a", "tags": ["x"]}])
    assert ingest.is_valid({"traces": [{"output": ""}], "eval_set": "S"})
    assert not ingest.is_valid([{"id": "no output"}])
    run = spec["paths"]["/api/v1/runs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert Draft202012Validator(run).is_valid({"models": ["offline/echo"], "prompt": "hi", "vars": {"x": "y"}})
    listed = set(as_user("vic").get("/api/v1").json()["endpoints"])
    assert listed == {f"{m} {p}" for m, p in served}


def test_the_server_log_never_holds_a_token(srv, as_user):
    for name in srv[1]:
        c = as_user(name)
        c.get("/api/v1/me")
        c.post("/api/v1/traces", json={"id": "log", "output": srv[1][name][:10]})
    log = srv[2].read_text()
    for token in srv[1].values():
        assert token not in log and token[6:] not in log


# ---------------------------------------------------------------- 10,000 traces while the app is used


def test_ten_thousand_traces_in_batches_while_the_app_is_used(srv, as_user):
    """Two senders post 20 batches of 500 at once while a reader uses the app's page and the traces list."""
    url, made = srv[0], srv[1]
    reader = httpx.Client(base_url=url, timeout=60)
    reader_token = {"Authorization": f"Bearer {made['ana_reader']}"}
    failures: list[str] = []
    totals: list[int] = []
    reads = [0]
    stop = threading.Event()

    def use_the_app() -> None:
        # What a browser and a script do meanwhile: the page, its health check, the traces list.
        while not stop.is_set():
            for path, headers in (("/", {}), ("/_stcore/health", {}), ("/api/v1/traces?q=Bulk&limit=20", reader_token)):
                r = reader.get(path, headers=headers)
                if r.status_code != 200:
                    failures.append(f"{path}: {r.status_code} {r.text[:200]}")
                elif path.startswith("/api"):
                    totals.append(r.json()["total"])
                reads[0] += 1
            time.sleep(0.05)

    def send(client: httpx.Client, starts: range) -> None:
        for start in starts:
            batch = [
                {"id": f"bulk-{i}", "input": f"Bulk question {i}", "output": f"Answer {i}", "tags": ["bulk"]}
                for i in range(start, start + 500)
            ]
            r = client.post("/api/v1/traces", json=batch)
            if r.status_code != 200 or r.json()["imported"] != 500:
                failures.append(f"batch {start}: {r.status_code} {r.text[:300]}")

    watcher = threading.Thread(target=use_the_app, daemon=True)
    senders = [
        threading.Thread(target=send, args=(as_user(who), range(offset, 10_000, 1000)), daemon=True)
        for who, offset in (("ana", 0), ("ana_app", 500))
    ]
    watcher.start()
    t0 = time.perf_counter()
    try:
        for t in senders:
            t.start()
        for t in senders:
            t.join(180)
        seconds = time.perf_counter() - t0
    finally:
        stop.set()
        watcher.join(30)
        reader.close()
    assert not failures, failures[:5]
    assert reads[0] >= 3 and totals == sorted(totals)  # the list grew as the batches came, never went back
    assert as_user("ana").get("/api/v1/traces?q=Bulk%20question&limit=1").json()["total"] == 10_000
    assert seconds < 120
