"""Playground runs: persisted, listed, filtered, compared, re-run, and recorded as traces."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from forge import auth
from forge.llm.playground import rerun, run_prompt
from forge.llm.prompts import ContextBlock, PromptSpec
from forge.llm.retry import RetryPolicy
from forge.store import runs, traces

FAST = RetryPolicy(timeout=2, max_retries=0)


def _spec(**kw):
    base = dict(
        template="Summarise {{topic}} for {{who}}",
        variables={"topic": "tea", "who": "kids"},
        context=[ContextBlock("notes.txt", "Tea is a drink.")],
        system="Be brief",
        temperature=0.2,
        max_tokens=50,
    )
    base.update(kw)
    return PromptSpec(**base)


def test_every_field_is_kept(db, admin, default_ws):
    out = run_prompt(auth.access(db, admin, default_ws.id), ["offline/echo", "nosuch/x"], _spec(), policy=FAST)
    assert len(out.run_ids) == 2
    ok, bad = runs.get_runs(auth.access(db, admin, default_ws.id), out.run_ids)
    assert ok["model"] == "offline/echo" and ok["provider"] == "offline"
    assert ok["prompt_template"] == "Summarise {{topic}} for {{who}}"
    assert ok["prompt"].endswith("Summarise tea for kids") and "Tea is a drink." in ok["prompt"]
    assert ok["variables"] == {"topic": "tea", "who": "kids"}
    assert ok["context"] == [{"name": "notes.txt", "text": "Tea is a drink."}]
    assert ok["params"] == {"temperature": 0.2, "max_tokens": 50, "stream": True}
    assert ok["system_prompt"] == "Be brief" and ok["user_id"] == admin.id
    assert ok["output"].startswith("[offline model") and ok["input_tokens"] > 0 and ok["tokens_estimated"]
    assert ok["cost_usd"] == 0.0 and ok["latency_ms"] >= 0 and ok["error"] is None
    assert ok["batch_id"] == bad["batch_id"] == out.batch_id
    assert bad["error"].startswith("Unknown provider") and bad["output"] in ("", None)


def test_runs_are_recorded_as_playground_traces(db, admin, default_ws):
    out = run_prompt(auth.access(db, admin, default_ws.id), ["offline/echo", "nosuch/x"], _spec(), policy=FAST)
    stored = runs.get_runs(auth.access(db, admin, default_ws.id), out.run_ids)
    for run in stored:
        assert run["trace_id"], "each run points at its trace"
        trace = traces.get_trace(auth.access(db, admin, default_ws.id), run["trace_id"])
        assert trace["source"] == "playground" and trace["source_id"] == run["id"]
        assert "Summarise tea for kids" in trace["input_text"]
    ok_trace = traces.get_trace(auth.access(db, admin, default_ws.id), stored[0]["trace_id"])
    assert ok_trace["output_text"] == stored[0]["output"]
    assert ok_trace["steps"][0]["model"] == "offline/echo"
    err_trace = traces.get_trace(auth.access(db, admin, default_ws.id), stored[1]["trace_id"])
    assert "Unknown provider" in err_trace["output_text"]


def test_list_and_filter(db, admin, default_ws):
    run_prompt(auth.access(db, admin, default_ws.id), ["offline/echo"], _spec(), policy=FAST)
    run_prompt(
        auth.access(db, admin, default_ws.id),
        ["offline/slow", "nosuch/x"],
        _spec(template="Write a haiku about {{topic}}", variables={"topic": "rain"}),
        policy=FAST,
    )
    ws = default_ws.id
    assert len(runs.list_runs(auth.access(db, admin, ws))) == 3
    assert [r["model"] for r in runs.list_runs(auth.access(db, admin, ws), model="offline/echo")] == ["offline/echo"]
    assert {r["model"] for r in runs.list_runs(auth.access(db, admin, ws), text="haiku")} == {
        "offline/slow",
        "nosuch/x",
    }
    assert [r["model"] for r in runs.list_runs(auth.access(db, admin, ws), errors_only=True)] == ["nosuch/x"]
    today = date.today()
    assert (
        len(
            runs.list_runs(auth.access(db, admin, ws), since=today - timedelta(days=1), until=today + timedelta(days=1))
        )
        == 3
    )
    assert runs.list_runs(auth.access(db, admin, ws), since=today + timedelta(days=2)) == []
    assert runs.list_runs(auth.access(db, admin, ws))[0]["user"] == "admin"
    assert runs.run_models(auth.access(db, admin, ws)) == ["nosuch/x", "offline/echo", "offline/slow"]


def test_rerun_makes_a_new_batch_with_the_same_prompt(db, admin, default_ws):
    first = run_prompt(auth.access(db, admin, default_ws.id), ["offline/echo"], _spec(), policy=FAST)
    again = rerun(auth.access(db, admin, default_ws.id), first.run_ids[0], policy=FAST)
    assert again.batch_id != first.batch_id
    a, b = runs.get_runs(auth.access(db, admin, default_ws.id), [first.run_ids[0], again.run_ids[0]])
    for key in ("prompt", "prompt_template", "variables", "context", "params", "system_prompt", "output"):
        assert a[key] == b[key], key
    other = rerun(auth.access(db, admin, default_ws.id), first.run_ids[0], models=["offline/slow"], policy=FAST)
    assert runs.get_run(auth.access(db, admin, default_ws.id), other.run_ids[0])["model"] == "offline/slow"
    with pytest.raises(LookupError):
        rerun(auth.access(db, admin, default_ws.id), "no-such-run")


def test_workspace_isolation_and_roles(db, admin, default_ws, outsider, analyst):
    out = run_prompt(auth.access(db, admin, default_ws.id), ["offline/echo"], _spec(), policy=FAST)
    with pytest.raises(auth.PermissionDenied):
        runs.list_runs(auth.access(db, outsider, default_ws.id))
    with pytest.raises(auth.PermissionDenied):
        runs.get_run(auth.access(db, outsider, default_ws.id), out.run_ids[0])
    otto_ws = auth.resolve_workspace(db, outsider, "otto-space")
    assert runs.get_run(auth.access(db, outsider, otto_ws.id), out.run_ids[0]) is None  # not across workspaces
    viewer = auth.create_user(db, admin, "vic", "correct horse battery staple", "viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    assert len(runs.list_runs(auth.access(db, viewer, default_ws.id))) == 1  # viewers may read
    with pytest.raises(auth.PermissionDenied):
        run_prompt(auth.access(db, viewer, default_ws.id), ["offline/echo"], _spec(), policy=FAST)
    assert run_prompt(auth.access(db, analyst, default_ws.id), ["offline/echo"], _spec(), policy=FAST).run_ids
