"""Security review: every workspace function as an outsider, with the other workspace's ids.

`otto` (analyst of `otto-space` only) tries the admin's `default` workspace directly, and
through his own workspace id with the other workspace's run/job/trace/eval-set/eval ids.
A viewer of `default` may read but never rate, import or run.
"""

from __future__ import annotations

import io
import threading

import pytest

from forge import auth, demo, import_jobs, jobs
from forge.auth import PermissionDenied
from forge.llm.playground import rerun, run_prompt
from forge.llm.prompts import PromptSpec
from forge.llm.retry import RetryPolicy
from forge.review import ratings
from forge.store import evals, import_cursors, runs, summary, traces
from forge.traces import query

FAST = RetryPolicy(timeout=2, max_retries=0)
SECRET = "launch is on 12 December"


@pytest.fixture
def theirs(db, admin, default_ws):
    """Data of every kind in the admin's workspace, plus a job that waits until released."""
    out = run_prompt(
        auth.access(db, admin, default_ws.id), ["offline/echo"], PromptSpec(template=f"Say: {SECRET}"), policy=FAST
    )
    res = traces.upsert_traces(
        auth.access(db, admin, default_ws.id),
        [
            {
                "source": "file",
                "source_id": "s1",
                "name": "secret trace",
                "timestamp": "2026-11-20T10:00:00Z",
                "input": SECRET,
                "output": SECRET,
                "input_text": SECRET,
                "output_text": SECRET,
                "tags": ["confidential"],
            }
        ],
    )
    es = ratings.get_or_create_eval_set(auth.access(db, admin, default_ws.id), "Grounded", "no invented facts")
    ratings.upsert_ratings(
        auth.access(db, admin, default_ws.id), es["id"], [{"trace_id": res["ids"][0], "value": "pass"}]
    )
    ev = evals.create_eval(auth.access(db, admin, default_ws.id), es["id"], "e1", "def evaluate(t):\n    return True\n")
    import_cursors.set_import_cursor(auth.access(db, admin, default_ws.id), "langfuse", "https://lf", {"after": SECRET})
    release = threading.Event()
    job = jobs.start(
        db,
        admin,
        default_ws.id,
        "import",
        lambda progress: release.wait(10) and {"note": SECRET},
        params={"files": ["secret.jsonl"]},
    )
    yield {
        "run_id": out.run_ids[0],
        "batch_id": out.batch_id,
        "trace_id": res["ids"][0],
        "eval_set_id": es["id"],
        "eval_id": ev.id,
        "job_id": job.id,
    }
    release.set()
    jobs.wait(db, admin, default_ws.id, job.id, timeout=10)


@pytest.fixture
def otto_ws(db, outsider):
    return auth.resolve_workspace(db, outsider, "otto-space")


@pytest.fixture
def viewer(db, admin, default_ws):
    user = auth.create_user(db, admin, "vic", "viewer passphrase", "viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    return user


def _readers(ws_id, t):
    """Every read function, called for workspace ``ws_id`` with the other workspace's ids ``t``."""
    return {
        "jobs.get": lambda db, u: jobs.get(db, u, ws_id, t["job_id"]),
        "jobs.recent": lambda db, u: jobs.recent(db, u, ws_id),
        "jobs.active": lambda db, u: jobs.active(db, u, ws_id),
        "jobs.wait": lambda db, u: jobs.wait(db, u, ws_id, t["job_id"], timeout=0.01),
        "runs.get_run": lambda db, u: runs.get_run(auth.access(db, u, ws_id), t["run_id"]),
        "runs.get_runs": lambda db, u: runs.get_runs(auth.access(db, u, ws_id), [t["run_id"]]),
        "runs.list_runs": lambda db, u: runs.list_runs(auth.access(db, u, ws_id)),
        "runs.list_runs(batch)": lambda db, u: runs.list_runs(auth.access(db, u, ws_id), batch_id=t["batch_id"]),
        "runs.run_models": lambda db, u: runs.run_models(auth.access(db, u, ws_id)),
        "query.list_traces": lambda db, u: query.list_traces(auth.access(db, u, ws_id)).rows,
        "query.list_traces(eval set)": lambda db, u: (
            query.list_traces(
                auth.access(db, u, ws_id), query.TraceFilters(rating="rated", eval_set_id=t["eval_set_id"])
            ).rows
        ),
        "query.facet_values": lambda db, u: {
            k: v
            for k, v in query.facet_values(auth.access(db, u, ws_id)).items()
            if k not in ("total", "first", "last") and v
        },
        "query.trace_detail": lambda db, u: query.trace_detail(auth.access(db, u, ws_id), t["trace_id"]),
        "traces.get_trace": lambda db, u: traces.get_trace(auth.access(db, u, ws_id), t["trace_id"]),
        "traces.get_trace_by_source": lambda db, u: traces.get_trace_by_source(auth.access(db, u, ws_id), "file", "s1"),
        "traces.count_traces": lambda db, u: traces.count_traces(auth.access(db, u, ws_id)),
        "traces.get_import_cursor": lambda db, u: import_cursors.get_import_cursor(
            auth.access(db, u, ws_id), "langfuse", "https://lf"
        ),
        "ratings.list_eval_sets": lambda db, u: ratings.list_eval_sets(auth.access(db, u, ws_id)),
        "ratings.ratings_for_trace": lambda db, u: ratings.ratings_for_trace(auth.access(db, u, ws_id), t["trace_id"]),
        "evals.get_eval": lambda db, u: evals.get_eval(auth.access(db, u, ws_id), t["eval_id"]),
        "evals.list_evals": lambda db, u: evals.list_evals(auth.access(db, u, ws_id)),
        "evals.list_evals(set)": lambda db, u: evals.list_evals(auth.access(db, u, ws_id), t["eval_set_id"]),
        "evals.versions": lambda db, u: evals.versions(auth.access(db, u, ws_id), t["eval_id"]),
        "evals.count_evals": lambda db, u: evals.count_evals(auth.access(db, u, ws_id)),
        "summary.workspace_summary": lambda db, u: [
            v
            for k, v in vars(summary.workspace_summary(auth.access(db, u, ws_id))).items()
            if k not in ("next_step", "ratings") and v
        ],
    }


def test_outsider_reads_nothing_with_the_other_workspace_id(db, outsider, default_ws, theirs):
    for name, call in _readers(default_ws.id, theirs).items():
        with pytest.raises(PermissionDenied):
            call(db, outsider)
            pytest.fail(f"{name} let the outsider read a workspace he is not in")


def test_outsider_reads_nothing_through_his_own_workspace_with_their_ids(db, outsider, otto_ws, theirs):
    leaks = {}
    for name, call in _readers(otto_ws.id, theirs).items():
        got = call(db, outsider)
        if got not in (None, [], {}, 0):
            leaks[name] = got
    assert not leaks


def test_outsider_changes_nothing_of_theirs(db, admin, outsider, default_ws, otto_ws, theirs):
    t = theirs
    spec = PromptSpec(template="x")
    denied = {
        "jobs.cancel": lambda: jobs.cancel(db, outsider, default_ws.id, t["job_id"]),
        "jobs.start": lambda: jobs.start(db, outsider, default_ws.id, "import", lambda p: None),
        "jobs.start_file_import": lambda: import_jobs.start_file_import(
            db, outsider, default_ws.id, [("a.jsonl", b"{}")]
        ),
        "rerun": lambda: rerun(auth.access(db, outsider, default_ws.id), t["run_id"], policy=FAST),
        "run_prompt": lambda: run_prompt(auth.access(db, outsider, default_ws.id), ["offline/echo"], spec, policy=FAST),
        "set_import_cursor": lambda: import_cursors.set_import_cursor(
            auth.access(db, outsider, default_ws.id), "langfuse", "https://lf", {"after": "x"}
        ),
        "evals.set_status": lambda: evals.set_status(auth.access(db, outsider, default_ws.id), t["eval_id"], "kept"),
        "demo.load_demo": lambda: demo.load_demo(db, outsider, default_ws.id),
        "get_or_create_eval_set": lambda: ratings.get_or_create_eval_set(
            auth.access(db, outsider, default_ws.id), "Grounded"
        ),
    }
    for name, call in denied.items():
        with pytest.raises(PermissionDenied):
            call()
            pytest.fail(f"{name} let the outsider act in a workspace he is not in")
    # Through his own workspace with their ids: refused or a no-op.
    assert jobs.cancel(db, outsider, otto_ws.id, t["job_id"]) is False
    with pytest.raises(LookupError):
        rerun(auth.access(db, outsider, otto_ws.id), t["run_id"], policy=FAST)
    evals.set_status(auth.access(db, outsider, otto_ws.id), t["eval_id"], "rejected")
    assert evals.get_eval(auth.access(db, admin, default_ws.id), t["eval_id"]).status == "candidate"
    es = ratings.get_or_create_eval_set(auth.access(db, outsider, otto_ws.id), "Grounded")
    assert es["id"] != t["eval_set_id"]
    assert (
        ratings.upsert_ratings(
            auth.access(db, outsider, otto_ws.id), es["id"], [{"trace_id": t["trace_id"], "value": "fail"}]
        )
        == 0
    )
    assert jobs.get(db, admin, default_ws.id, t["job_id"]).status in jobs.ACTIVE
    assert db.fetchall("SELECT value FROM ratings") == [("pass",)]
    assert db.scalar("SELECT count(*) FROM runs") == 1


def test_viewer_reads_but_cannot_rate_import_or_run(db, viewer, default_ws, theirs):
    t = theirs
    for call in _readers(default_ws.id, t).values():
        call(db, viewer)  # reading is allowed
    assert runs.get_run(auth.access(db, viewer, default_ws.id), t["run_id"]) is not None
    denied = {
        "rate": lambda: ratings.upsert_ratings(
            auth.access(db, viewer, default_ws.id), t["eval_set_id"], [{"trace_id": t["trace_id"], "value": "fail"}]
        ),
        "new eval set": lambda: ratings.get_or_create_eval_set(auth.access(db, viewer, default_ws.id), "Mine"),
        "import file": lambda: import_jobs.start_file_import(db, viewer, default_ws.id, [("a.jsonl", b"{}")]),
        "import langfuse": lambda: import_jobs.start_langfuse_import(db, viewer, default_ws.id),
        "demo": lambda: demo.load_demo(db, viewer, default_ws.id),
        "upsert": lambda: traces.upsert_traces(auth.access(db, viewer, default_ws.id), [{"source_id": "v"}]),
        "cursor": lambda: import_cursors.set_import_cursor(auth.access(db, viewer, default_ws.id), "l", "k", {}),
        "run": lambda: run_prompt(
            auth.access(db, viewer, default_ws.id), ["offline/echo"], PromptSpec(template="x"), policy=FAST
        ),
        "rerun": lambda: rerun(auth.access(db, viewer, default_ws.id), t["run_id"], policy=FAST),
        "cancel": lambda: jobs.cancel(db, viewer, default_ws.id, t["job_id"]),
        "delete": lambda: traces.delete_traces(auth.access(db, viewer, default_ws.id), [t["trace_id"]]),
        "eval status": lambda: evals.set_status(auth.access(db, viewer, default_ws.id), t["eval_id"], "kept"),
    }
    for name, call in denied.items():
        with pytest.raises(PermissionDenied):
            call()
            pytest.fail(f"a viewer could {name}")
    assert db.scalar("SELECT count(*) FROM runs") == 1


def test_a_user_value_held_by_a_job_or_script_is_rechecked_against_the_database(db, admin, analyst, default_ws, theirs):
    """A long import or a script keeps the User it started with: disabling or demoting must still bite."""
    held = analyst  # in memory: analyst, enabled
    auth.set_role(db, admin, "ana", "viewer")
    with pytest.raises(PermissionDenied):
        ratings.upsert_ratings(
            auth.access(db, held, default_ws.id),
            theirs["eval_set_id"],
            [{"trace_id": theirs["trace_id"], "value": "fail"}],
        )
    with pytest.raises(PermissionDenied):
        run_prompt(auth.access(db, held, default_ws.id), ["offline/echo"], PromptSpec(template="x"), policy=FAST)
    assert runs.get_run(auth.access(db, held, default_ws.id), theirs["run_id"]) is not None  # a viewer still reads
    auth.set_disabled(db, admin, "ana", True)
    with pytest.raises(PermissionDenied):
        runs.get_run(auth.access(db, held, default_ws.id), theirs["run_id"])
    assert db.fetchall("SELECT value FROM ratings") == [("pass",)]


# ---------------------------------------------------------------- keys never stored

KEY = "sk-test-0123456789abcdef-SECRET"


def test_a_provider_error_that_echoes_the_key_is_stored_without_it(db, admin, default_ws, monkeypatch):
    from tests.stubs.openai_stub import OpenAIStub

    with OpenAIStub(api_key=KEY) as stub:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
        # Some proxies quote the request's Authorization header back in their error message.
        stub.fail("gpt-4o-mini", 400, message=f"bad request (Authorization: Bearer {KEY})")
        out = run_prompt(
            auth.access(db, admin, default_ws.id), ["openai/gpt-4o-mini"], PromptSpec(template="hi"), policy=FAST
        )
    assert out.results[0].error and "Authorization" in out.results[0].error
    assert KEY not in out.results[0].error
    stored = db.fetchall("SELECT error FROM runs") + db.fetchall(
        "SELECT output::VARCHAR, metadata::VARCHAR FROM traces"
    )
    assert stored and KEY not in repr(stored)


def test_a_job_error_that_names_a_key_is_stored_without_it(db, admin, default_ws, monkeypatch):
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", KEY)

    def work(progress):
        raise RuntimeError(f"GET https://pk:{KEY}@cloud.langfuse.com failed")

    job = jobs.start(db, admin, default_ws.id, "import", work)
    done = jobs.wait(db, admin, default_ws.id, job.id, timeout=10)
    assert done.status == "failed" and "cloud.langfuse.com" in done.error
    assert KEY not in done.error and KEY not in repr(db.fetchall("SELECT * FROM jobs"))


# ---------------------------------------------------------------- CLI


def test_cli_needs_a_login_and_a_role_that_allows_the_command(
    db, admin, viewer, default_ws, tmp_path, monkeypatch, capsys
):
    from forge.cli import main

    f = tmp_path / "t.jsonl"
    f.write_text('{"id": "x1", "input": "a", "output": "b"}\n')
    commands = [
        ["run", "--model", "offline/echo", "--prompt", "hi"],
        ["import", str(f)],
        ["import-langfuse"],
        ["users", "add", "mallory", "--role", "admin"],
    ]
    for argv in commands:  # nobody logged in
        monkeypatch.setattr("sys.stdin", io.StringIO("mallory passphrase\n"))
        assert main(argv) == 2, argv
        assert "login required" in capsys.readouterr().err
    monkeypatch.setenv("FORGE_USER", "vic")
    monkeypatch.setenv("FORGE_PASSWORD", "viewer passphrase")
    for argv in commands:  # a viewer
        monkeypatch.setattr("sys.stdin", io.StringIO("mallory passphrase\n"))
        assert main(argv) == 2, argv
        capsys.readouterr()
    assert db.scalar("SELECT count(*) FROM runs") == 0 and db.scalar("SELECT count(*) FROM traces") == 0
    assert auth.get_user(db, "mallory") is None
