"""The import page's job list: one bordered box per import job with its badge, progress and summary."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from forge import jobs
from forge.store.access import Access
from forge.ui.format import fmt_count
from forge.ui.widgets import job_badge, md

KIND = {"import": "File import", "import-langfuse": "Langfuse import"}


def show_job(access: Access, job: jobs.Job) -> None:
    """One job: what it imports, when, its status badge; progress and Cancel, or its summary and row errors."""
    db, user, ws = access.db, access.user, access.workspace
    what = md(", ".join((job.params or {}).get("files") or []) or (job.params or {}).get("since") or "")
    with st.container(border=True):
        summary = job.result if isinstance(job.result, dict) else None
        badge = job_badge(job.status, (summary or {}).get("failed", 0))
        st.markdown(f"**{KIND.get(job.kind, job.kind)}** {what} · {job.created_at:%Y-%m-%d %H:%M} UTC · {badge}")
        if job.active:
            st.progress(job.fraction or 0.0, text=job.message or "Working…")
            if st.button("Cancel", key=f"import_cancel_{job.id}", icon=":material/cancel:"):
                jobs.cancel(db, user, ws.id, job.id)
        elif job.status in ("failed", "cancelled"):
            st.error(md(job.error, inline=False) or "The job stopped.")
        if summary:
            cols = st.columns(4)
            for col, key in zip(cols, ("imported", "updated", "skipped", "failed"), strict=True):
                col.metric(key.title(), fmt_count(summary.get(key, 0)))
            rated = summary.get("ratings") or {}
            if rated.get("stored"):
                st.caption(f"{fmt_count(rated['stored'])} ratings stored in eval set “{md(rated.get('eval_set'))}”.")
            for key, title in (("errors", "Row errors"), ("warnings", "Warnings")):
                entries = summary.get(key) or []
                if entries:
                    with st.expander(f"{title} ({fmt_count(len(entries))})", expanded=key == "errors"):
                        blanks = [{k: "" if v is None else v for k, v in e.items()} for e in entries]  # not "None"
                        st.dataframe(pd.DataFrame(blanks), hide_index=True, width="stretch")
