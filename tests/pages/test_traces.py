"""The traces page: empty state, text filter changes the count, a trace opens with its steps."""

from __future__ import annotations

from forge import auth
from forge.store.traces import upsert_traces


def _traces(n: int = 30) -> list[dict]:
    out = []
    for i in range(n):
        out.append(
            {
                "source": "file",
                "source_id": f"t{i}",
                "name": "support-agent",
                "timestamp": f"2026-10-{1 + i % 28:02d}T08:00:00Z",
                "input": {"question": f"question {i}"},
                "output": f"answer {i}",
                "input_text": f"question {i}",
                "output_text": "Your refund is on its way." if i % 10 == 0 else f"answer {i}",
                "tags": ["prod"],
                "steps": [
                    {"id": f"r{i}", "parent_id": None, "type": "agent", "name": "triage-agent"},
                    {
                        "id": f"c{i}",
                        "parent_id": f"r{i}",
                        "type": "tool",
                        "name": "lookup_order",
                        "level": "ERROR",
                        "status_message": "order service timed out",
                    },
                    {
                        "id": f"g{i}",
                        "parent_id": f"r{i}",
                        "type": "generation",
                        "name": "draft_reply",
                        "model": "openai/gpt-4o-mini",
                        "input_tokens": 120,
                        "output_tokens": 30,
                    },
                ],
            }
        )
    return out


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_empty_workspace_says_where_to_get_traces(app_as):
    at = app_as("admin", page="pages/traces.py")
    assert not at.exception
    assert any("No traces yet" in i.value for i in at.info)


def test_text_filter_changes_the_count_and_a_trace_opens_with_its_steps(db, admin, default_ws, app_as):
    upsert_traces(auth.access(db, admin, default_ws.id), _traces())
    at = app_as("admin", page="pages/traces.py")
    assert not at.exception
    assert _metric(at, "Matching traces") == "30"
    assert len(at.dataframe[0].value) == 30

    at.text_input(key="traces_text").input("REFUND").run()
    assert not at.exception
    assert _metric(at, "Matching traces") == "3"
    table = at.dataframe[0].value
    assert len(table) == 3 and all("refund" in o for o in table["Output"])

    first_id = at.selectbox(key="traces_open").options[1].split(" · ")[-1]
    at.selectbox(key="traces_open").select_index(1).run()
    assert not at.exception
    assert at.query_params.get("trace") in (first_id, [first_id])  # the trace's own address
    assert any("order service timed out" in e.value for e in at.error)
    steps = at.dataframe[1].value
    assert list(steps["Step"])[0] == "triage-agent"
    assert sorted(list(steps["Step"])[1:]) == ["└ draft_reply", "└ ⚠ lookup_order"]
    assert "150" in list(steps["Tokens"]) and "None" not in list(steps["Tokens"])
    # The failed step is the one shown in detail first.
    assert at.selectbox(key="traces_detail_steps_pick").value is not None
    assert "lookup_order" in [t.value for t in at.text]
    assert any(first_id in c.value for c in at.caption)


def test_a_new_search_leaves_no_row_ticked_and_no_trace_open(db, admin, default_ws, app_as):
    upsert_traces(auth.access(db, admin, default_ws.id), _traces())
    at = app_as("admin", page="pages/traces.py")
    key_before = at.dataframe[0].proto.id
    at.selectbox(key="traces_open").select_index(1).run()
    assert at.query_params.get("trace")
    at.text_input(key="traces_text").input("answer 7").run()
    assert not at.exception
    # A different widget id is a fresh selection: the browser shows no ticked row.
    assert at.dataframe[0].proto.id != key_before
    assert at.selectbox(key="traces_open").value is None
    assert not at.query_params.get("trace")


def test_a_trace_address_opens_that_trace(db, admin, default_ws, app_as):
    upsert_traces(auth.access(db, admin, default_ws.id), _traces(60))
    at = app_as("admin")
    oldest = db.fetchone("SELECT id FROM traces ORDER BY timestamp LIMIT 1")[0]  # not on page 1
    at.query_params["trace"] = oldest
    at.switch_page("pages/traces.py")
    at.run()
    assert not at.exception
    assert at.selectbox(key="traces_open").value == oldest
    assert any(oldest in c.value for c in at.caption)
    at.query_params["trace"] = "no-such-trace"
    at.run()
    assert any("not in this workspace" in w.value for w in at.warning)


def _step_trace() -> dict:
    base = "2026-10-05T10:00:00"
    return {
        "source": "file",
        "source_id": "graph-1",
        "name": "langgraph",
        "timestamp": base + "Z",
        "input": "hi",
        "output": "hello",
        "steps": [
            {
                "id": "root",
                "type": "CHAIN",
                "name": "LangGraph",
                "start_time": base + ".000Z",
                "end_time": base + ".900Z",
            },
            {
                "id": "s",
                "parent_id": "root",
                "type": "CHAIN",
                "name": "__start__",
                "level": "DEBUG",
                "start_time": base + ".000Z",
                "end_time": base + ".010Z",
            },
            {
                "id": "g",
                "parent_id": "root",
                "type": "GENERATION",
                "name": "call_model",
                "model": "anthropic/claude-sonnet-4-5",
                "input_tokens": 100.0,
                "output_tokens": 48.0,
                "cost_usd": 0.00003,
                "start_time": base + ".100Z",
                "end_time": base + ".700Z",
            },
            {
                "id": "w",
                "parent_id": "root",
                "type": "TOOL",
                "name": "search_web",
                "level": "WARNING",
                "status_message": "slow *answer*",
                "start_time": base + ".700Z",
                "end_time": base + ".900Z",
            },
        ],
    }


def _chart_data(at) -> str:
    charts = at.get("vega_lite_chart")
    assert charts, "no timeline chart"
    return str(charts[0].proto)


def test_steps_show_literal_names_whole_tokens_small_costs_and_a_timeline(db, admin, default_ws, app_as):
    upsert_traces(auth.access(db, admin, default_ws.id), [_step_trace()])
    at = app_as("admin")
    trace_id = db.fetchone("SELECT id FROM traces")[0]
    at.query_params["trace"] = trace_id
    at.switch_page("pages/traces.py")
    at.run()
    assert not at.exception
    steps = at.dataframe[1].value
    assert list(steps["Step"]) == ["LangGraph", "└ __start__", "└ call_model", "└ search_web"]
    assert list(steps["Tokens"]) == ["", "", "148", ""]
    assert list(steps["Cost"]) == ["", "", "$0.00003", ""]
    assert list(steps["Level"]) == ["DEFAULT", "DEBUG", "DEFAULT", "WARNING"]
    # The timeline: a Gantt whose bars start and end where the steps did, coloured by level.
    spec = _chart_data(at)
    assert "#9e9e9e" in spec and "#f59f00" in spec  # DEBUG grey, WARNING amber
    picker = at.selectbox(key="traces_detail_steps_pick")
    assert any("__start__" in o for o in picker.options)
    picker.select_index(2).run()  # call_model
    assert "call_model" in [t.value for t in at.text]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tokens"] == "148" and metrics["Cost"] == "$0.00003"
    picker = at.selectbox(key="traces_detail_steps_pick")
    picker.select_index(1).run()  # __start__, shown as text, never as markdown
    assert "__start__" in [t.value for t in at.text]
    # Hiding DEBUG steps drops __start__ from the table.
    at.toggle(key="traces_detail_steps_hide_debug").set_value(True).run()
    assert "└ __start__" not in list(at.dataframe[1].value["Step"])
    assert len(at.dataframe[1].value) == 3


def test_markdown_escaping_keeps_underscores_and_stars_literal():
    from forge.ui.widgets import md

    assert md("__start__") == "\\_\\_start\\_\\_"
    assert md("slow *answer*") == "slow \\*answer\\*"


def test_paging_moves_through_the_results(db, admin, default_ws, app_as):
    upsert_traces(auth.access(db, admin, default_ws.id), _traces(60))
    at = app_as("admin", page="pages/traces.py")
    assert _metric(at, "Page") == "1 / 2"
    at.button(key="traces_next").click().run()
    assert not at.exception
    assert _metric(at, "Page") == "2 / 2" and len(at.dataframe[0].value) == 10
    at.button(key="traces_prev").click().run()
    assert _metric(at, "Page") == "1 / 2"
