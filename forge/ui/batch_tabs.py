"""The Batch runs page's two tabs: start a batch (prompt version × dataset × models, estimate, spend limit) and
its results (judge with an eval set, pass rates by model, the outputs grid, export)."""

from __future__ import annotations

import streamlit as st

from forge import batch, batch_jobs
from forge.library import datasets, prompts
from forge.llm.catalog import load_catalog
from forge.store import batches as batch_store
from forge.store import ratings as rating_store
from forge.store.access import Access
from forge.ui import batch_view as view
from forge.ui.format import fmt_cost
from forge.ui.widgets import md, page_link_for


def new_batch(access: Access) -> None:
    """The New batch tab: pick a prompt version, a dataset version and models; estimate; start; recent jobs."""
    db, user, ws = access.db, access.user, access.workspace
    saved_prompts = prompts.list_prompts(access)
    saved_sets = datasets.list_datasets(access)
    if not saved_prompts:
        st.info("No saved prompts yet: write one on the Playground page and save it under a name.")
        page_link_for(user, "pages/playground.py", "Go to Playground", ":material/science:")
    if not saved_sets:
        st.info("No datasets yet: make one on the Datasets page (upload, typed rows, or traces).")
        page_link_for(user, "pages/datasets.py", "Go to Datasets", ":material/table:")
    if saved_prompts and saved_sets:
        c1, c2 = st.columns(2)
        prompt_name = c1.selectbox("Prompt", [p["name"] for p in saved_prompts], key="batches_prompt")
        prompt_versions = prompts.versions(access, prompt_name)
        pv = c1.selectbox(
            "Prompt version",
            list(reversed(prompt_versions)),
            format_func=lambda v: f"v{v.version} · {v.author} · {v.created_at:%Y-%m-%d %H:%M}",
            key=f"batches_prompt_v_{prompt_name}",
        )
        ds_name = c2.selectbox("Dataset", [d["name"] for d in saved_sets], key="batches_dataset")
        ds_versions = datasets.versions(access, ds_name)
        ds_v = c2.selectbox(
            "Dataset version",
            [v["version"] for v in ds_versions],
            format_func=lambda v: f"v{v}",
            key=f"batches_dataset_v_{ds_name}",
        )
        dataset = datasets.open_dataset(access, ds_name, ds_v)
        names = load_catalog().model_names()
        models = st.multiselect(
            "Models",
            sorted(set(names) | set(pv.models)),
            default=[m for m in pv.models if m],
            key=f"batches_models_{pv.id}",
            accept_new_options=True,
            help="Type provider/model for a model the catalog lacks (its price shows as unknown).",
        )
        if not models:
            st.caption("Choose at least one model.")
        else:
            try:
                plan = batch.plan_batch(access, pv, dataset, models)
            except batch.BatchError as exc:
                st.error(md(exc))
            else:
                st.markdown(
                    f"**{plan.total_calls:,} calls** ({len(plan.requests):,} rows × {len(plan.models)} models),"
                    f" {batch.concurrency_limit()} at a time (setting FORGE_BATCH_CONCURRENCY)."
                    f" Estimated cost: **{fmt_cost(plan.estimate_usd)}**"
                    + (" for the models with a known price" if plan.unknown_price else "")
                    + " (output assumed at max_tokens, or 1,024 tokens)."
                )
                st.dataframe(view.estimate_frame(plan), hide_index=True)
                for problem in plan.problems:
                    st.warning(md(problem))
                if plan.unknown_price:
                    st.caption(
                        "The spend limit cannot count models of unknown price: " + md(", ".join(plan.unknown_price))
                    )
                limit = st.number_input(
                    "Spend limit in USD (0 = none)",
                    min_value=0.0,
                    value=0.0,
                    step=0.5,
                    format="%.4f",
                    key="batches_limit",
                )
                if st.button("Start batch", type="primary", key="batches_start", disabled=not access.may("run")):
                    try:
                        batch_jobs.start_batch(
                            db,
                            user,
                            ws.id,
                            pv.id,
                            dataset.id,
                            plan.models,
                            max_cost_usd=limit or None,
                            label=f"{pv.label} × {dataset.label}",
                        )
                    except Exception as exc:  # a refused start is shown, never a traceback
                        st.error(f"Could not start the batch: {md(exc)}")
                    else:
                        st.session_state[view.NOTICE] = "Batch started: follow it below, or switch pages meanwhile."
                        st.rerun()

    recent = batch_jobs.batch_jobs(db, user, ws.id)

    @st.fragment(run_every=1 if any(j.active for j in recent) else None)
    def recent_jobs() -> None:
        latest = batch_jobs.batch_jobs(db, user, ws.id)
        if latest:
            st.subheader("Recent batch jobs")
        for job in latest:
            view.show_job(access, job)
        if any(j.active for j in recent) and not any(j.active for j in latest):
            st.rerun()

    recent_jobs()


def results(access: Access) -> None:
    """The Results tab: one batch, judged by an eval set: pass rates by model and the outputs, filtered."""
    db, user, ws = access.db, access.user, access.workspace
    done = batch_store.list_batches(access)
    if not done:
        st.info("No batch runs yet: start one in the New batch tab.")
        return
    by_id = {b["id"]: b for b in done}
    picked = st.selectbox("Batch", list(by_id), format_func=lambda b: view.batch_label(by_id[b]), key=view.PICK)
    b = by_id[picked]
    st.caption(
        f"{md(b['prompt_label'])} over {md(b['dataset_label'])} by {md(b['author'] or '?')} ·"
        f" {b['done']:,} of {b['total']:,} calls · spent {fmt_cost(b['spent_usd'])}"
        + (f" (limit {fmt_cost(b['max_cost_usd'])})" if b["max_cost_usd"] is not None else "")
        + (f" · {md(b['stop_reason'])}" if b["stop_reason"] else "")
    )
    sets = {s["id"]: s["name"] for s in rating_store.list_eval_sets(access)}
    if sets and access.may("run"):
        c1, c2 = st.columns([3, 1])
        eval_set = c1.selectbox(
            "Judge with the kept evals of",
            list(sets),
            format_func=sets.get,
            key="batches_eval_set",
            index=list(sets).index(b["eval_set_id"]) if b["eval_set_id"] in sets else 0,
        )
        if c2.button("Judge", key="batches_judge", disabled=b["status"] == "running"):
            try:
                batch_jobs.start_judge(db, user, ws.id, picked, eval_set, label=b["prompt_label"])
            except Exception as exc:
                st.error(f"Could not start judging: {md(exc)}")
            else:
                st.session_state[view.NOTICE] = "Judging started: the tables below fill in when it is done."
                st.rerun()
    elif not sets:
        st.caption("No eval sets yet: make one on the Review page and keep some evals to judge batches with.")
    judged = view.judged(access, b)
    st.subheader("Pass rates by model" if judged.evals else "By model")
    if judged.evals and judged.isolation == "reduced":
        st.warning("The evals ran with reduced isolation (no bubblewrap/seccomp here).")
    st.dataframe(view.rates_frame(judged), hide_index=True, width="stretch")
    st.subheader("Outputs")
    c1, c2 = st.columns(2)
    failing = c1.checkbox("Failing only", key="batches_failing", help="Rows where a model failed an eval or the call")
    disagree = c2.checkbox(
        "Models disagree only", key="batches_disagree", help="Rows whose models got different verdicts"
    )
    shown = judged.filtered(failing_only=failing, disagreeing_only=disagree)
    if shown.empty:
        st.info("No row matches these filters." if len(judged.grid) else "This batch has no outputs yet.")
    else:
        wide = view.wide_grid(judged, shown)
        st.caption(
            "✓ pass · ✗ fail · · error, per eval in the order of the table above; ≠ differs from the first model."
        )
        st.dataframe(wide.head(view.GRID_ROWS), hide_index=True, width="stretch")
        row = st.selectbox("Row in full", list(wide["row"]), key="batches_row")
        view.show_row(judged, row)
        c1, c2 = st.columns(2)
        c1.download_button(
            "Export CSV (all rows)",
            lambda: batch.export_bytes(judged, "csv"),  # built on the click, not on every rerun
            f"batch-{picked[:8]}.csv",
            "text/csv",
            key="batches_csv",
        )
        c2.download_button(
            "Export Parquet (all rows)",
            lambda: batch.export_bytes(judged, "parquet"),
            f"batch-{picked[:8]}.parquet",
            "application/octet-stream",
            key="batches_parquet",
        )
