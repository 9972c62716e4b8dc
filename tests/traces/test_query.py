"""The traces page's read side: filters, paging, facets, one trace in full."""

from __future__ import annotations

from datetime import datetime

import pytest

from forge import auth
from forge.review import ratings
from forge.store import new_id, utcnow
from forge.store.traces import upsert_traces
from forge.traces.query import TraceFilters, facet_values, flatten, list_traces, step_tree, trace_detail


def _trace(i: int, **over) -> dict:
    t = {
        "source": "file",
        "source_id": f"row-{i}",
        "name": "chat" if i % 2 else "rag-answer",
        "timestamp": f"2026-10-{1 + i % 28:02d}T12:00:00Z",
        "input": {"question": f"question {i}"},
        "output": f"answer {i}",
        "input_text": f"question {i}",
        "output_text": f"answer {i}",
        "steps": [
            {
                "id": f"s{i}",
                "parent_id": None,
                "type": "generation",
                "name": "llm",
                "model": "openai/gpt-4o-mini" if i % 3 else "anthropic/claude-haiku-4-5",
                "input_tokens": 10,
                "output_tokens": 5,
            }
        ],
        "metadata": {"i": i},
        "tags": ["prod"] if i % 4 == 0 else ["dev"],
        "user_id": f"u{i % 5}",
        "latency_ms": 100.0 + i,
        "cost_usd": 0.001 * i,
    }
    t.update(over)
    return t


@pytest.fixture
def seeded(db, admin, default_ws):
    traces = [_trace(i) for i in range(60)]
    traces[7].update(output_text="We issued a full REFUND yesterday.", source="langfuse", source_id="lf-7")
    traces[8].update(input_text="Where is my refund?")
    traces[9].update(input_text="100% sure_thing")
    ids = upsert_traces(auth.access(db, admin, default_ws.id), traces)["ids"]
    return ids


def test_pages_and_total_over_the_whole_workspace(db, admin, default_ws, seeded):
    first = list_traces(auth.access(db, admin, default_ws.id), page=1, page_size=25)
    assert first.total == 60 and first.pages == 3 and len(first.rows) == 25
    last = list_traces(auth.access(db, admin, default_ws.id), page=3, page_size=25)
    assert len(last.rows) == 10
    seen = {
        r["id"]
        for p in range(1, 4)
        for r in list_traces(auth.access(db, admin, default_ws.id), page=p, page_size=25).rows
    }
    assert seen == set(seeded)
    # Newest first by default; previews, not whole JSON.
    stamps = [r["timestamp"] for r in first.rows]
    assert stamps == sorted(stamps, reverse=True)
    assert "input" not in first.rows[0] and "input_preview" in first.rows[0]
    beyond = list_traces(auth.access(db, admin, default_ws.id), page=9, page_size=25)
    assert beyond.total == 60 and beyond.rows == []


def test_text_search_is_case_insensitive_over_input_and_output(db, admin, default_ws, seeded):
    hits = list_traces(auth.access(db, admin, default_ws.id), TraceFilters(text="refund"))
    assert {r["id"] for r in hits.rows} == {seeded[7], seeded[8]} and hits.total == 2
    # Characters that are special in LIKE or regular expressions are matched literally.
    assert list_traces(auth.access(db, admin, default_ws.id), TraceFilters(text="100% sure_")).total == 1
    assert list_traces(auth.access(db, admin, default_ws.id), TraceFilters(text="(.*)")).total == 0


def test_filters_combine(db, admin, default_ws, seeded):
    q = lambda **kw: list_traces(auth.access(db, admin, default_ws.id), TraceFilters(**kw), page_size=100)  # noqa: E731
    assert q(sources=["langfuse"]).total == 1
    assert q(names=["chat"]).total == 30
    assert q(tags=["prod"]).total == 15
    assert q(models=["anthropic/claude-haiku-4-5"]).total == 20
    assert q(users=["u0", "u1"]).total == 24
    assert q(names=["chat"], tags=["prod"]).total == 0  # odd i are chat, prod needs i % 4 == 0
    window = q(start=datetime(2026, 10, 1), end=datetime(2026, 10, 3))
    assert window.total == len([i for i in range(60) if i % 28 + 1 in (1, 2)])


def test_rating_status_filters(db, admin, default_ws, seeded):
    es = ratings.get_or_create_eval_set(auth.access(db, admin, default_ws.id), "no invention")
    other = ratings.get_or_create_eval_set(auth.access(db, admin, default_ws.id), "polite")
    ratings.upsert_ratings(
        auth.access(db, admin, default_ws.id),
        es["id"],
        [
            {"trace_id": seeded[0], "value": "pass"},
            {"trace_id": seeded[1], "value": "fail"},
            {"trace_id": seeded[2], "value": "neutral"},
        ],
    )
    ratings.upsert_ratings(
        auth.access(db, admin, default_ws.id), other["id"], [{"trace_id": seeded[3], "value": "fail"}]
    )
    access = auth.access(db, admin, default_ws.id)
    q = lambda **kw: {r["id"] for r in list_traces(access, TraceFilters(**kw), page_size=100).rows}  # noqa: E731
    assert q(rating="rated") == set(seeded[:4])
    assert q(rating="rated", eval_set_id=es["id"]) == set(seeded[:3])
    assert q(rating="fail") == {seeded[1], seeded[3]}
    assert q(rating="fail", eval_set_id=other["id"]) == {seeded[3]}
    assert q(rating="pass") == {seeded[0]}
    assert q(rating="neutral") == {seeded[2]}
    assert len(q(rating="unrated")) == 56
    row = next(r for r in list_traces(auth.access(db, admin, default_ws.id), TraceFilters(rating="pass")).rows)
    assert (row["passes"], row["fails"]) == (1, 0)
    with pytest.raises(ValueError):
        TraceFilters(rating="maybe")


def test_sorting(db, admin, default_ws, seeded):
    slow = list_traces(auth.access(db, admin, default_ws.id), sort="slowest", page_size=3).rows
    assert [r["latency_ms"] for r in slow] == [159.0, 158.0, 157.0]
    with pytest.raises(ValueError):
        list_traces(auth.access(db, admin, default_ws.id), sort="id; DROP TABLE traces")


def test_workspace_isolation(db, admin, default_ws, outsider, seeded):
    theirs = auth.workspaces_for(db, outsider)[0]
    with pytest.raises(auth.PermissionDenied):
        list_traces(auth.access(db, outsider, default_ws.id))
    with pytest.raises(auth.PermissionDenied):
        trace_detail(auth.access(db, outsider, default_ws.id), seeded[0])
    with pytest.raises(auth.PermissionDenied):
        facet_values(auth.access(db, outsider, default_ws.id))
    assert list_traces(auth.access(db, outsider, theirs.id)).total == 0
    # A trace id from another workspace is not found through one's own.
    assert trace_detail(auth.access(db, outsider, theirs.id), seeded[0]) is None


def test_facets_offer_the_values_present(db, admin, default_ws, seeded):
    f = facet_values(auth.access(db, admin, default_ws.id))
    assert set(f["names"]) == {"chat", "rag-answer"}
    assert set(f["tags"]) == {"prod", "dev"} and f["tags"][0] == "dev"  # most common first
    assert set(f["sources"]) == {"file", "langfuse"}
    assert set(f["models"]) == {"openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"}
    assert f["total"] == 60 and f["first"] <= f["last"]


def test_detail_has_json_steps_ratings_and_verdicts(db, admin, default_ws):
    steps = [
        {
            "id": "root",
            "parent_id": None,
            "type": "agent",
            "name": "agent",
            "start_time": "2026-10-01T12:00:00Z",
            "end_time": "2026-10-01T12:00:03Z",
        },
        {
            "id": "tool",
            "parent_id": "root",
            "type": "tool",
            "name": "search",
            "level": "ERROR",
            "status_message": "timeout after 2s",
            "start_time": "2026-10-01T12:00:02Z",
            "end_time": "2026-10-01T12:00:02.500Z",
        },
        {
            "id": "llm",
            "parent_id": "root",
            "type": "generation",
            "name": "llm",
            "model": "openai/gpt-4o",
            "input_tokens": 100,
            "output_tokens": 20,
            "cost_usd": 0.002,
            "start_time": "2026-10-01T12:00:00.100Z",
            "end_time": "2026-10-01T12:00:01Z",
        },
    ]
    tid = upsert_traces(auth.access(db, admin, default_ws.id), [_trace(1, steps=steps)])["ids"][0]
    es = ratings.get_or_create_eval_set(auth.access(db, admin, default_ws.id), "no invention")
    ratings.upsert_ratings(
        auth.access(db, admin, default_ws.id), es["id"], [{"trace_id": tid, "value": "up", "note": "fine"}]
    )
    eval_id, version_id = new_id(), new_id()
    db.execute(
        "INSERT INTO evals (id, workspace_id, eval_set_id, name, origin) VALUES (?, ?, ?, 'no_urls', 'manual')",
        [eval_id, default_ws.id, es["id"]],
    )
    db.execute(
        "INSERT INTO eval_versions (id, eval_id, version, source) VALUES (?, ?, 1, 'def evaluate(t): ...')",
        [version_id, eval_id],
    )
    db.execute(
        "INSERT INTO eval_results (eval_version_id, trace_id, workspace_id, verdict, reason, created_at)"
        " VALUES (?, ?, ?, FALSE, 'mentions a URL', ?)",
        [version_id, tid, default_ws.id, utcnow()],
    )

    d = trace_detail(auth.access(db, admin, default_ws.id), tid)
    assert d["input"] == {"question": "question 1"} and d["metadata"] == {"i": 1}
    assert [(r["eval_set"], r["value"], r["note"]) for r in d["ratings"]] == [("no invention", "pass", "fine")]
    assert [(v["eval"], v["version"], v["verdict"], v["reason"]) for v in d["verdicts"]] == [
        ("no_urls", 1, False, "mentions a URL")
    ]
    (root,) = d["step_tree"]
    assert root.get("name") == "agent" and root.latency_ms == pytest.approx(3000)
    assert [c.get("id") for c in root.children] == ["llm", "tool"]  # by start time
    llm, tool = root.children
    assert llm.tokens == 120 and llm.depth == 1
    assert tool.is_error and not llm.is_error and tool.latency_ms == pytest.approx(500)


def test_step_tree_survives_orphans_and_cycles():
    steps = [
        {"id": "a", "parent_id": "b"},
        {"id": "b", "parent_id": "a"},
        {"id": "c", "parent_id": "missing"},
        {"id": "d", "parent_id": "c"},
        "not a step",
    ]
    nodes = flatten(step_tree(steps))
    assert sorted(n.get("id") for n in nodes) == ["a", "b", "c", "d"]
    assert next(n for n in nodes if n.get("id") == "d").depth == 1
