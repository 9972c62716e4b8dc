"""The Runs page's pieces: the table, batches (one submission's fan-out) and one run in full."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from forge.ui.format import fmt_cost, fmt_count, fmt_ms
from forge.ui.widgets import md

RERUN_NOTICE = "runs_notice"  # the re-run's outcome, shown after the page reruns

# Errors sit beside the model, and these eight fit a 1400 px window beside the sidebar (no sideways scroll).
RUN_COLUMNS = {
    "time (UTC)": st.column_config.DatetimeColumn("time (UTC)", format="YYYY-MM-DD HH:mm:ss", width=135),
    "model": st.column_config.TextColumn("model", width=125),
    "error": st.column_config.TextColumn("error", width=160),
    "prompt": st.column_config.TextColumn("prompt", width=140),
    "output": st.column_config.TextColumn("output", width=140),
    "tokens": st.column_config.TextColumn("tokens", width=75, help="in / out; ~ when estimated"),
    "latency": st.column_config.TextColumn("latency", width=70),
    "cost": st.column_config.TextColumn("cost", width=70),
}


def runs_table(rows: list[dict]) -> pd.DataFrame:
    """One row per run, errors early, human units."""
    return pd.DataFrame(
        [
            {
                "time (UTC)": r["created_at"],
                "model": r["model"],
                "error": r["error"] or "",
                "prompt": (r["prompt_template"] or "")[:80],
                "output": (r["output"] or "")[:80],
                "tokens": f"{'~' if r['tokens_estimated'] else ''}"
                f"{fmt_count(r['input_tokens'])} / {fmt_count(r['output_tokens'])}",
                "latency": fmt_ms(r["latency_ms"]),
                "cost": fmt_cost(r["cost_usd"]),
                "prompt version": r.get("prompt_version") or "",
                "batch": r["batch_id"][:8],
                "user": r["user"],
                "id": r["id"],
            }
            for r in rows
        ]
    )


def run_label(r: dict) -> str:
    return f"{r['created_at']:%Y-%m-%d %H:%M:%S} · {r['model']} · {r['id'][:8]}"


def batches(rows: list[dict]) -> dict[str, list[dict]]:
    """Runs grouped by the submission that made them (its batch id), newest batch first."""
    out: dict[str, list[dict]] = {}
    for r in rows:  # rows come newest first
        out.setdefault(r["batch_id"], []).append(r)
    for runs in out.values():
        runs.sort(key=lambda r: r["model"])
    return out


def batch_label(runs: list[dict]) -> str:
    first = runs[0]
    n_err = sum(bool(r["error"]) for r in runs)
    prompt = " ".join((first["prompt_template"] or "").split())[:50]
    return (
        f"{first['created_at']:%Y-%m-%d %H:%M:%S} · {len(runs)} model{'s' if len(runs) != 1 else ''}"
        f"{f' · {n_err} failed' if n_err else ''} · {prompt}"
    )


def render_run(col, run: dict) -> None:
    """One run in full: model, prompt as sent, parameters, output or error, figures."""
    col.markdown(f"**{md(run['model'])}** · {run['created_at']:%Y-%m-%d %H:%M:%S} UTC")
    if run.get("prompt_version"):
        col.caption(f"Saved prompt: {md(run['prompt_version'])} (Prompts page)")
    if run["system_prompt"]:
        col.caption("System prompt")
        col.text(run["system_prompt"])
    col.caption("Prompt as sent")
    col.text(run["prompt"])
    if run["variables"]:
        col.caption("Variables: " + md(json.dumps(run["variables"], ensure_ascii=False)))
    col.caption("Parameters: " + md(json.dumps(run["params"])))
    if run["error"]:
        col.error(md(run["error"], inline=False))
    else:
        col.caption("Output")
        col.text(run["output"])
    col.caption(
        f"{fmt_count(run['input_tokens'])} in / {fmt_count(run['output_tokens'])} out tokens"
        f"{' (estimated)' if run['tokens_estimated'] else ''} · {fmt_ms(run['latency_ms'])}"
        f" · {fmt_cost(run['cost_usd']) if run['cost_usd'] is not None else 'cost unknown'}"
    )
