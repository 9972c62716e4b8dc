"""A user who is not a member of a workspace sees none of its data on any page."""

from __future__ import annotations

from forge import auth, demo

# Strings only the demo data holds (the home page names the demo eval set itself).
SECRETS = ("rdg-0", "Ridgeline", "isobutane", "Trail Club", "Firefly 20")


def _texts(node):
    """Every piece of text an element tree shows (values, labels, options, tables)."""
    value = getattr(node, "value", None)
    try:
        if hasattr(value, "to_string"):
            yield value.to_string()
        elif value is not None:
            yield str(value)
    except Exception:  # noqa: BLE001 - some widgets have no value until used
        pass
    for attr in ("label", "options", "body"):
        item = getattr(node, attr, None)
        if item:
            yield str(item)
    proto = getattr(node, "proto", None)
    if proto is not None:
        yield str(proto)
    for child in getattr(node, "children", {}).values():
        yield from _texts(child)


def test_outsider_sees_no_data_of_another_workspace_on_any_page(db, app_as, admin, default_ws, outsider):
    demo.load_demo(db, admin, default_ws.id)
    at = app_as("otto")
    pages = sorted({info["script_path"] for info in at._registered_pages.values()})
    assert len(pages) >= 2 and not any(p.endswith("admin.py") for p in pages)
    for path in pages:
        at.switch_page(path).run()
        assert not at.exception, (path, at.exception)
        shown = "\n".join(_texts(at.main)) + "\n".join(_texts(at.sidebar))
        leaked = [s for s in SECRETS if s in shown]
        assert not leaked, f"{path} shows {leaked}"


def test_the_same_check_finds_the_data_for_a_member(db, app_as, admin, default_ws):
    """Control: the text walk above does see demo data where it is shown."""
    demo.load_demo(db, admin, default_ws.id)
    at = app_as("admin", page="pages/traces.py")
    shown = "\n".join(_texts(at.main))
    assert [s for s in SECRETS if s in shown]


# ---------------------------------------------------------------- tampered session state


def test_a_foreign_workspace_id_in_session_state_shows_nothing_of_it(db, app_as, admin, default_ws, outsider):
    """Even with the picked workspace id (and page keys) set to the other workspace's, no page shows its data."""
    from forge.store import runs
    from forge.ui import keys

    demo.load_demo(db, admin, default_ws.id)
    foreign_run = runs.list_runs(auth.access(db, admin, default_ws.id))  # demo has no runs: make one
    from forge.llm.playground import run_prompt
    from forge.llm.prompts import PromptSpec
    from forge.llm.retry import RetryPolicy

    out = run_prompt(
        auth.access(db, admin, default_ws.id),
        ["offline/echo"],
        PromptSpec(template="Ridgeline secret"),
        policy=RetryPolicy(timeout=2, max_retries=0),
    )
    assert not foreign_run and out.run_ids
    trace_id = db.scalar("SELECT id FROM traces WHERE workspace_id = ? AND source = 'file' LIMIT 1", [default_ws.id])
    at = app_as("otto")
    pages = sorted({info["script_path"] for info in at._registered_pages.values()})
    for path in pages:
        at.session_state[keys.WORKSPACE_ID] = default_ws.id
        at.session_state["traces_open"] = trace_id
        at.session_state["runs_a"] = out.run_ids[0]
        at.session_state["runs_rerun_pick"] = out.run_ids[0]
        at.switch_page(path).run()
        assert not at.exception, (path, at.exception)
        shown = "\n".join(_texts(at.main)) + "\n".join(_texts(at.sidebar))
        leaked = [s for s in SECRETS if s in shown]
        assert not leaked, f"{path} shows {leaked}"
        assert "default" not in [o for sb in at.sidebar.selectbox for o in sb.options]


# ---------------------------------------------------------------- markdown injection from trace data

EVIL = "![beacon](http://127.0.0.1:9/track.png) [click me](http://127.0.0.1:9/login) :red[ALERT] $x^2$"


def test_trace_data_cannot_inject_links_or_images_into_the_page(db, app_as, admin, default_ws):
    from forge.store.traces import upsert_traces

    upsert_traces(
        auth.access(db, admin, default_ws.id),
        [
            {
                "source": "file",
                "source_id": "evil",
                "name": EVIL,
                "timestamp": "2026-11-20T10:00:00Z",
                "input": "hi",
                "output": "ho",
                "tags": [EVIL],
                "user_id": EVIL,
                "session_id": EVIL,
                "steps": [
                    {"id": "s1", "type": "tool", "name": EVIL, "model": EVIL, "level": "ERROR", "status_message": EVIL}
                ],
            }
        ],
    )
    at = app_as("admin", page="pages/traces.py")
    at.selectbox(key="traces_open").select_index(1).run()
    assert not at.exception
    bodies = [e.value for e in (*at.subheader, *at.caption, *at.markdown, *at.error, *at.info)]
    bodies += [e.label for e in at.expander]
    shown = [b for b in bodies if "beacon" in b or "click me" in b]
    assert len(shown) >= 5, bodies  # title, caption, tags, error summary, step label, status...
    for body in shown:
        for raw in ("![beacon](", "[click me](", ":red[ALERT", "$x^2$"):
            assert raw not in body, body
