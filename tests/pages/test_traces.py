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
    labels = [e.label for e in at.expander]
    assert any("triage-agent" in label for label in labels)
    assert any("lookup_order" in label and ":red[" in label for label in labels)
    assert any("order service timed out" in e.value for e in at.error)
    steps = at.dataframe[1].value
    assert list(steps["Step"]) == ["triage-agent", "└ lookup_order", "└ draft_reply"] or list(steps["Step"]) == [
        "triage-agent",
        "└ draft_reply",
        "└ lookup_order",
    ]
    assert 150 in list(steps["Tokens"])
    assert any(first_id in c.value for c in at.caption)


def test_paging_moves_through_the_results(db, admin, default_ws, app_as):
    upsert_traces(auth.access(db, admin, default_ws.id), _traces(60))
    at = app_as("admin", page="pages/traces.py")
    assert _metric(at, "Page") == "1 / 2"
    at.button(key="traces_next").click().run()
    assert not at.exception
    assert _metric(at, "Page") == "2 / 2" and len(at.dataframe[0].value) == 10
    at.button(key="traces_prev").click().run()
    assert _metric(at, "Page") == "1 / 2"
