"""Runs: every playground and `forge run` call, filtered, compared by batch or two at a time, re-run."""

import streamlit as st

from forge.llm.playground import rerun
from forge.store import runs
from forge.ui import runs_view
from forge.ui.state import guard
from forge.ui.widgets import md, page_help, page_link_for, show_notice

access = guard("read")
db, user, ws = access.db, access.user, access.workspace
st.title("Runs")
page_help(
    "Every model call made in the Playground or with `forge run`: filter by model, text, dates or errors;"
    " compare the models of one submission (a batch) side by side, or any two runs; re-run one to see"
    " whether a model answers differently now."
)
show_notice(runs_view.RERUN_NOTICE)  # left by a re-run just before the page reran

c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
models = c1.multiselect("Model", runs.run_models(access), key="runs_models")
text = c2.text_input("Text in prompt, output or error", key="runs_text")
dates = c3.date_input("Dates", value=(), key="runs_dates")
errors_only = c4.checkbox("Errors only", key="runs_errors")
since = dates[0] if len(dates) > 0 else None
until = dates[1] if len(dates) > 1 else since

rows = runs.list_runs(access, model=models, text=text or None, since=since, until=until, errors_only=errors_only)
if not rows:
    if models or text or dates or errors_only:
        st.info("No run matches these filters: loosen them.")
    else:
        st.info("No runs yet. Run a prompt on the Playground page (or `forge run --model offline/echo --prompt hi`).")
        page_link_for(user, "pages/playground.py", "Go to Playground", ":material/science:")
    st.stop()

st.dataframe(
    runs_view.runs_table(rows),
    hide_index=True,
    width="stretch",
    height="content" if len(rows) <= 50 else 600,
    column_config=runs_view.RUN_COLUMNS,
)
labels = {r["id"]: runs_view.run_label(r) for r in rows}
ids = list(labels)

st.subheader("Compare")
by_batch = runs_view.batches(rows)
mode = st.segmented_control(
    "What to compare", ["One submission (batch)", "Two runs"], default="One submission (batch)", key="runs_mode"
)
if mode == "Two runs":
    if len(ids) < 2:
        st.info("Only one run matches: comparing needs two.")
    else:
        a, b = st.columns(2)
        left = a.selectbox("Run A", ids, index=0, format_func=labels.get, key="runs_a")
        right = b.selectbox("Run B", ids, index=1, format_func=labels.get, key="runs_b")
        if left == right:
            st.info("Run A and run B are the same run: pick two different runs to compare.")
        else:
            for col, run in zip((a, b), runs.get_runs(access, [left, right]), strict=False):
                runs_view.render_run(col, run)
else:
    batch = st.selectbox(
        "Batch (the models of one submission, side by side)",
        list(by_batch),
        format_func=lambda b: runs_view.batch_label(by_batch[b]),
        key="runs_batch",
    )
    whole = runs.list_runs(access, batch_id=batch)  # every model of it, whatever the filters
    members = runs.get_runs(access, [r["id"] for r in runs_view.batches(whole)[batch]])
    for col, run in zip(st.columns(max(1, len(members))), members, strict=False):
        runs_view.render_run(col, run)

if access.may("run"):
    st.subheader("Re-run")
    pick = st.selectbox("Run to repeat", ids, format_func=labels.get, key="runs_rerun_pick")
    if st.button("Re-run", key="runs_rerun"):
        with st.spinner("Running…"):
            try:
                out = rerun(access, pick)
            except Exception as exc:  # shown as a message, never a traceback
                st.error(f"Re-run failed: {md(exc)}")
            else:
                res = out.results[0]
                st.session_state[runs_view.RERUN_NOTICE] = f"Re-ran {md(res.model)}: " + (
                    "ok, it is the newest run in the table." if res.ok else f"error: {md(res.error)}"
                )
                st.rerun()
