"""Import: trace files and Langfuse, as background jobs with progress and summaries."""

import streamlit as st

from forge import import_jobs, jobs
from forge.traces import langfuse
from forge.ui import import_view, state
from forge.ui.widgets import page_help

access = state.guard("import")
db, user, ws = access.db, access.user, access.workspace
st.title("Import traces")
page_help(
    "Bring traces into this workspace: upload JSONL, JSON or CSV files (unified traces, OpenAI chat logs,"
    " Langfuse exports), or fetch from Langfuse. Rows carrying a `rating` (or `human_label`) become"
    " ratings in the eval set you name. Imports run in the background: switch pages and come back."
    " Re-importing a file updates its traces, never duplicates them. From the command line:"
    " `forge import FILE --eval-set NAME`."
)

files_tab, langfuse_tab = st.tabs(["Files", "Langfuse"])
with files_tab:
    uploads = st.file_uploader(
        "Trace files: JSONL, JSON or CSV (unified traces, OpenAI chat logs, Langfuse exports)",
        type=["jsonl", "json", "csv", "ndjson"],
        accept_multiple_files=True,
        key="import_files",
    )
    eval_set = st.text_input(
        "Eval set for ratings in the files (optional)",
        key="import_eval_set",
        help="Rows may carry a `rating` field (pass/fail/neutral, up/down, 1/0); "
        "they are stored as ratings in this eval set.",
    )
    criterion = st.text_area(
        "Criterion, if this creates the eval set (optional)",
        key="import_criterion",
        disabled=not eval_set.strip(),
        placeholder="e.g. The answer states only facts supported by the question; no invented details.",
        help="What a pass means. An existing eval set keeps its own criterion.",
    )
    if st.button("Import files", key="import_start", type="primary", disabled=not uploads):
        try:
            import_jobs.start_file_import(
                db,
                user,
                ws.id,
                [(f.name, f.getvalue()) for f in uploads],
                eval_set=eval_set.strip() or None,
                criterion=criterion.strip(),
            )
        except Exception as exc:  # a refused start is shown, never a traceback
            st.error(f"Could not start the import: {exc}")

with langfuse_tab:
    status = langfuse.connection_status()
    if not status["configured"]:
        st.info(
            f"Langfuse is not configured (missing {', '.join(status['missing'])}). "
            "See the Settings page for how to set it up."
        )
        st.page_link("pages/settings.py", label="Go to Settings", icon=":material/settings:")
    else:
        st.caption(f"From **{status['host']}**; only traces new since the last import are fetched.")
        c1, c2 = st.columns(2)
        since = c1.date_input("Since (optional)", value=None, key="import_lf_since")
        limit = c2.number_input("At most this many traces (0 = all)", 0, 1_000_000, 0, key="import_lf_limit")
        score = c1.text_input("Langfuse score to import as ratings (optional)", key="import_lf_score")
        lf_set = c2.text_input("…into eval set", key="import_lf_eval_set", disabled=not score)
        if st.button("Import from Langfuse", key="import_lf_start", type="primary"):
            try:
                import_jobs.start_langfuse_import(
                    db,
                    user,
                    ws.id,
                    since=since.isoformat() if since else None,
                    limit=int(limit) or None,
                    score=score.strip() or None,
                    eval_set=(lf_set.strip() or score.strip()) if score.strip() else None,
                )
            except Exception as exc:
                st.error(f"Could not start the import: {exc}")

recent = jobs.recent(db, user, ws.id, limit=10, kinds=tuple(import_view.KIND))


@st.fragment(run_every=1 if any(j.active for j in recent) else None)
def recent_jobs() -> None:
    latest = jobs.recent(db, user, ws.id, limit=10, kinds=tuple(import_view.KIND))
    st.subheader("Recent imports")
    if not latest:
        st.caption("No imports yet in this workspace. Try the demo file `data/demo_traces.jsonl`, or see the docs.")
    for job in latest:
        import_view.show_job(access, job)
    # Poll only while something runs; a full rerun when the last job ends stops the timer.
    if any(j.active for j in recent) and not any(j.active for j in latest):
        st.rerun()


recent_jobs()
