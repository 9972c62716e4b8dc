"""Runs: every playground and `forge run` call, filtered, compared side by side, re-run."""

import json

import pandas as pd
import streamlit as st

from forge.llm.playground import rerun
from forge.store import runs
from forge.ui.state import guard
from forge.ui.widgets import md

access = guard("read")
st.title("Runs")

c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
models = c1.multiselect("Model", runs.run_models(access), key="runs_models")
text = c2.text_input("Text in prompt, output or error", key="runs_text")
dates = c3.date_input("Dates", value=(), key="runs_dates")
errors_only = c4.checkbox("Errors only", key="runs_errors")
since = dates[0] if len(dates) > 0 else None
until = dates[1] if len(dates) > 1 else since

rows = runs.list_runs(access, model=models, text=text or None, since=since, until=until, errors_only=errors_only)
if not rows:
    st.info("No runs yet. Run a prompt on the Playground page (or `forge run`).")
    st.stop()

table = pd.DataFrame(
    [
        {
            "id": r["id"],
            "time (UTC)": r["created_at"],
            "model": r["model"],
            "user": r["user"],
            "prompt": (r["prompt_template"] or "")[:80],
            "output": (r["output"] or "")[:80],
            "tokens in": r["input_tokens"],
            "tokens out": r["output_tokens"],
            "estimated": r["tokens_estimated"],
            "latency ms": r["latency_ms"],
            "cost USD": r["cost_usd"],
            "error": r["error"] or "",
        }
        for r in rows
    ]
)
st.dataframe(table, hide_index=True)

labels = {r["id"]: f"{r['created_at']:%Y-%m-%d %H:%M:%S} · {r['model']} · {r['id'][:8]}" for r in rows}
ids = list(labels)

st.subheader("Compare two runs")
a, b = st.columns(2)
left = a.selectbox("Run A", ids, index=0, format_func=labels.get, key="runs_a")
right = b.selectbox("Run B", ids, index=min(1, len(ids) - 1), format_func=labels.get, key="runs_b")
for col, run in zip((a, b), runs.get_runs(access, [left, right]), strict=False):
    col.markdown(f"**{md(run['model'])}** · {run['created_at']:%Y-%m-%d %H:%M:%S} UTC")
    if run["system_prompt"]:
        col.caption("System prompt")
        col.text(run["system_prompt"])
    col.caption("Prompt as sent")
    col.text(run["prompt"])
    if run["variables"]:
        col.caption("Variables: " + json.dumps(run["variables"], ensure_ascii=False))
    col.caption("Parameters: " + json.dumps(run["params"]))
    if run["error"]:
        col.error(md(run["error"], inline=False))
    else:
        col.caption("Output")
        col.text(run["output"])
    cost = "unknown" if run["cost_usd"] is None else f"${run['cost_usd']:.6f}"
    col.caption(
        f"{run['input_tokens']} in / {run['output_tokens']} out tokens"
        f"{' (estimated)' if run['tokens_estimated'] else ''} · {run['latency_ms'] or 0:.0f} ms · {cost}"
    )

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
                st.success(f"Re-ran {res.model}: " + ("ok" if res.ok else f"error: {md(res.error)}"))
                st.rerun()
