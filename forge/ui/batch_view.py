"""The Batch runs page's pieces: the cost estimate, a batch job's box, the judged table and the outputs grid."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from forge import batch, jobs
from forge.store.access import Access
from forge.ui.format import BLANK, fmt_cost, fmt_count, fmt_ms
from forge.ui.widgets import job_badge, md

KIND = {"batch-run": "Batch run", "batch-judge": "Judging"}
NOTICE = "batches_notice"
PICK = "batches_pick"
GRID_ROWS = 500  # dataset rows shown at once in the grid


@st.cache_data(show_spinner="Reading the batch…", max_entries=8)
def _judged(_access: Access, user_id: str, workspace_id: str, batch_id: str, state: tuple) -> batch.Judged:
    return batch.judged(_access, batch_id)


def judged(access: Access, b: dict) -> batch.Judged:
    """The batch's judged view, read again only when the batch or its judging changed (filters rerun the page)."""
    state = (b["status"], b["done"], b["eval_run_id"], b["finished_at"])
    return _judged(access, access.user.id, access.workspace_id, b["id"], state)


def estimate_frame(plan: batch.BatchPlan) -> pd.DataFrame:
    """Per model: calls and estimated cost (unknown when the catalog has no price)."""
    return pd.DataFrame(
        [
            {
                "model": m,
                "calls": len(plan.requests),
                "estimated cost": "unknown price"
                if plan.model_estimate(m) is None
                else fmt_cost(plan.model_estimate(m)),
            }
            for m in plan.models
        ]
    )


def show_job(access: Access, job: jobs.Job) -> None:
    """A batch (or judging) job: badge, progress and Cancel while it runs; its outcome after."""
    params = job.params or {}
    with st.container(border=True):
        st.markdown(
            f"**{KIND.get(job.kind, job.kind)}** {md(params.get('label') or '')} ·"
            f" {job.created_at:%Y-%m-%d %H:%M} UTC · {job_badge(job.status)}"
        )
        if job.active:
            st.progress(job.fraction or 0.0, text=job.message or "Working…")
            if st.button("Cancel", key=f"batches_cancel_{job.id}", icon=":material/cancel:"):
                jobs.cancel(access.db, access.user, access.workspace_id, job.id)
        elif job.status in ("failed", "cancelled"):
            st.error(md(job.error, inline=False) or "The job stopped.")
        result = job.result if isinstance(job.result, dict) else None
        if result and job.kind == "batch-run":
            if result.get("stop_reason"):
                st.warning(md(result["stop_reason"]))
            st.caption(
                f"{fmt_count(result.get('done'))} of {fmt_count(result.get('total'))} calls ·"
                f" spent {fmt_cost(result.get('spent_usd'))} · {result.get('seconds', 0):.1f} s"
            )


def batch_label(b: dict) -> str:
    return (
        f"{b['created_at']:%Y-%m-%d %H:%M} · {b['prompt_label']} × {b['dataset_label']} ·"
        f" {len(b['models'])} model(s) · {b['status']}"
    )


def rate_cell(rate: batch.Rate | None) -> str:
    if rate is None or rate.value is None:
        return BLANK
    return f"{rate.value:.0%} [{rate.low:.0%}–{rate.high:.0%}] n={rate.n}"


def rates_frame(j: batch.Judged) -> pd.DataFrame:
    """Models x evals: pass rate with its 95 % interval and n, then failed calls, cost and latency."""
    figures = {f.model: f for f in j.model_figures}
    out = []
    for model in j.models:
        rec = {"model": model}
        for label in [*j.evals, batch.ALL_EVALS]:
            rec[label] = rate_cell(j.rates.get((model, label)))
        fig = figures[model]
        rec["failed calls"] = fmt_count(fig.failed)
        rec["cost"] = fmt_cost(fig.cost_usd) if fig.cost_usd is not None else "unknown"
        rec["latency p50"] = fmt_ms(fig.latency_ms_p50)
        out.append(rec)
    return pd.DataFrame(out)


def _verdict_marks(rec: dict, evals: list[str]) -> str:
    marks = {True: "✓", False: "✗"}
    return "".join(marks.get(rec.get(label), "·") for label in evals)


def wide_grid(j: batch.Judged, grid: pd.DataFrame) -> pd.DataFrame:
    """Rows x models: each cell the output (start), its verdict marks and ≠ where it differs from the first model."""
    first = j.models[0] if j.models else None
    out: dict[int, dict] = {}
    for rec in grid.to_dict("records"):
        row = out.setdefault(rec["row"], {"row": rec["row"], **{k: v for k, v in rec["variables"].items()}})
        if rec["error"]:
            text = f"⚠ {rec['error'][:80]}"
        else:
            text = " ".join(rec["output"].split())[:120]
        marks = _verdict_marks(rec, j.evals) if j.evals and not rec["error"] else ""
        differs = "≠ " if rec["model"] != first and rec["differs"] and not rec["error"] else ""
        row[rec["model"]] = f"{differs}{marks + ' ' if marks else ''}{text}"
    return pd.DataFrame(list(out.values()))


def diff_html(base: str, other: str) -> str:
    """``other`` against ``base``: words only in ``other`` highlighted green, words gone struck through red."""
    parts = []
    for kind, text in batch.output_diff(base, other):
        t = html.escape(text)
        if kind == "+":
            parts.append(f'<span style="background:#009E7333">{t}</span>')
        elif kind == "-":
            parts.append(f'<span style="background:#D55E0033;text-decoration:line-through">{t}</span>')
        else:
            parts.append(t)
    return '<div style="white-space:pre-wrap;font-size:0.9em">' + " ".join(parts) + "</div>"


def show_row(j: batch.Judged, row: int) -> None:
    """One dataset row: every model's output side by side, verdicts with reasons, differences from the first model."""
    cells = j.grid[j.grid["row"] == row].to_dict("records")
    if not cells:
        return
    st.caption("Variables: " + md(", ".join(f"{k} = {v}" for k, v in cells[0]["variables"].items())))
    if cells[0].get("expected"):
        st.caption("Expected: " + md(cells[0]["expected"]))
    base = next((c for c in cells if c["model"] == j.models[0]), cells[0])
    for col, c in zip(st.columns(len(cells)), cells, strict=True):
        col.markdown(f"**{md(c['model'])}**")
        if c["error"]:
            col.error(md(c["error"], inline=False))
            continue
        for label in j.evals:
            verdict = c.get(label)
            icon = {True: ":green[✓ pass]", False: ":red[✗ fail]"}.get(verdict, ":gray[· error]")
            reason = c.get(f"{label} reason") or ""
            col.markdown(f"{icon} {md(label)}" + (f" — {md(reason)}" if reason else ""))
        if c is base or base["error"]:
            col.text(c["output"])
        else:
            col.caption(
                f"similarity to {md(base['model'])}: {c['similarity']:.0%}" if c["similarity"] is not None else ""
            )
            col.html(diff_html(base["output"], c["output"]))
        col.caption(f"{fmt_ms(c['latency_ms'])} · {fmt_cost(c['cost_usd'])}")
