"""The Evals page's pieces: the set picker, the list of evals, the editor with "try it", runs and summaries."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from forge import eval_jobs, jobs
from forge.evals import runs
from forge.evals.sandbox import isolation_status
from forge.evals.validate import validate_source
from forge.review.labels import human_labels
from forge.store import eval_results as result_store
from forge.store import evals as eval_store
from forge.store import ratings as rating_store
from forge.store.access import Access
from forge.ui.format import fmt_count
from forge.ui.navigation import pages_for
from forge.ui.widgets import md, page_help, show_notice

SET_KEY = "evals_set"
SOURCE_KEY = "evals_source"
TARGET_KEY = "evals_target"
NAME_KEY = "evals_name"
TRIED_KEY = "evals_tried"  # (source, rows) of the last "try it"
NOTICE_KEY = "evals_notice"
NEW = "__new__"
TEMPLATE = '''import re


def evaluate(trace):
    """True when the trace meets the criterion; the string is the reason analysts see."""
    answer = trace["output_text"]
    if not answer.strip():
        return False, "empty answer"
    return True, "looks fine"
'''
HELP = """
**What this page is for.** An eval is a small Python function, `evaluate(trace) -> bool | (bool, reason)`,
that checks one criterion of an eval set. Every eval (generated, synthesised or written here) runs only
in the sandbox: no files, no network, no processes, a time limit per call.

- **Evals of the set**: each eval's code, origin (llm, synth, manual), status and versions.
- **Write an eval**: paste or write code, **Try it** runs it in the sandbox on a few traces of the set
  (half rated pass, half fail) and shows each verdict *before* anything is saved; **Save** keeps it as a
  new manual eval or as a new version of an existing one (older versions and their results are kept).
- **Run**: the chosen evals (their current versions) over the set's traces or every trace of the workspace,
  in the background with progress and cancel; then pass/fail/error counts and agreement with the human labels.

Command line: `forge eval run --eval-set NAME [--all-traces] [--json]`.
"""


def header() -> None:
    """Title, help and the sandbox's isolation level (always said when it is reduced)."""
    st.title("Evals")
    page_help(HELP)
    level, missing = isolation_status()
    if level != "full":
        st.warning(
            f"**Reduced isolation**: evals run with the in-Python layers only (missing: {md('; '.join(missing))}).",
            icon=":material/shield:",
        )
    show_notice(NOTICE_KEY)


def _link(access: Access, path: str, label: str, icon: str, **params: str) -> None:
    """A link to another page, only when it exists and the user may use it."""
    if any(p.path == path for p in pages_for(access.user)):
        st.page_link(path, label=label, icon=icon, query_params=params or None)


def pick_eval_set(access: Access) -> dict:
    """The eval set picked (``?eval_set=<id>`` preselects one); an empty state and stop when there is none."""
    sets = rating_store.list_eval_sets(access)
    if not sets:
        st.info("No eval sets yet: an eval set is a criterion with rated traces. Rate traces or import rated ones.")
        _link(access, "pages/eval_sets.py", "Go to Eval sets", ":material/checklist:")
        _link(access, "pages/import.py", "Go to Import", ":material/upload:")
        st.stop()
    ids = [s["id"] for s in sets]
    wanted = st.query_params.get("eval_set")
    if wanted in ids and SET_KEY not in st.session_state:
        st.session_state[SET_KEY] = wanted
    by_id = {s["id"]: s for s in sets}
    picked = st.selectbox("Eval set", ids, format_func=lambda i: by_id[i]["name"], key=SET_KEY)
    es = by_id[picked]
    if es.get("criterion"):
        st.caption(f"Criterion: {md(es['criterion'])}")
    return es


def eval_list(access: Access, es: dict) -> list[eval_store.Eval]:
    """The set's evals: code (highlighted), origin, status and versions."""
    evals = eval_store.list_evals(access, es["id"])
    st.subheader("Evals of the set")
    if not evals:
        st.info("No evals in this set yet: write one below, or generate some from the ratings.")
        _link(access, "pages/generate.py", "Generate evals", ":material/auto_awesome:", eval_set=es["id"])
        return evals
    for e in evals:
        with st.expander(f"{md(e.name)} · {e.origin} · {e.status} · v{e.latest_version}"):
            versions = eval_store.versions(access, e.id)
            shown = versions[-1]
            if len(versions) > 1:
                numbers = [v.version for v in versions]
                pick = st.selectbox("Version", numbers, index=len(numbers) - 1, key=f"evals_version_{e.id}")
                shown = versions[numbers.index(pick)]
            st.caption(f"version {shown.version} of {len(versions)} · {shown.created_at:%Y-%m-%d %H:%M} UTC")
            st.code(shown.source, language="python", line_numbers=True)
            _link(
                access,
                "pages/generate.py",
                "Refine or see lineage",
                ":material/auto_awesome:",
                eval_set=es["id"],
                eval=e.id,
            )
    _link(access, "pages/generate.py", "Generate more evals", ":material/auto_awesome:", eval_set=es["id"])
    return evals


def _start_from(evals: list[eval_store.Eval], access: Access) -> None:
    """Put the chosen starting point's code in the editor (on change of "Save as")."""
    target = st.session_state.get(TARGET_KEY, NEW)
    if target == NEW:
        st.session_state[SOURCE_KEY] = TEMPLATE
    else:
        versions = eval_store.versions(access, target)
        st.session_state[SOURCE_KEY] = versions[-1].source if versions else TEMPLATE
    st.session_state.pop(TRIED_KEY, None)


def editor(access: Access, es: dict, evals: list[eval_store.Eval]) -> None:
    """Write or paste an eval, try it on a few traces of the set in the sandbox, save it."""
    st.subheader("Write an eval")
    if not access.may("edit"):
        st.caption(f"Your role ({access.role}) can look at evals but not write or change them.")
        return
    names = {e.id: e.name for e in evals}
    st.selectbox(
        "Save as",
        [NEW, *names],
        format_func=lambda t: "a new eval (manual)" if t == NEW else f"a new version of “{names[t]}”",
        key=TARGET_KEY,
        on_change=_start_from,
        args=(evals, access),
    )
    target = st.session_state.get(TARGET_KEY, NEW)
    name = st.text_input("Name", key=NAME_KEY, placeholder="e.g. cites a source") if target == NEW else None
    st.session_state.setdefault(SOURCE_KEY, TEMPLATE)
    source = st.text_area("Code: def evaluate(trace) -> bool | (bool, reason)", key=SOURCE_KEY, height=260)
    problem = validate_source(source) if source.strip() else "The code is empty."
    if problem:
        st.error(f"Not runnable yet: {md(problem)}")
    c1, c2, _ = st.columns([1, 1, 3])
    if c1.button("Try it", key="evals_try", icon=":material/play_arrow:", disabled=bool(problem)):
        labels = human_labels(access, es["id"]).labels
        sample = runs.pick_sample(access, es["id"], labels)
        outcome = runs.try_eval(source, sample)
        rows = [
            {
                "trace": t["id"],
                "human label": labels.get(t["id"], "unrated"),
                "verdict": "error" if v.is_error else ("pass" if v.verdict else "fail"),
                "reason / error": (v.error if v.is_error else v.reason) or "",
                "ms": round(v.duration_ms, 2),
                "output": (t.get("output_text") or "")[:160],
            }
            for t, v in zip(sample, outcome.verdicts["draft"], strict=True)
        ]
        st.session_state[TRIED_KEY] = (source, rows, outcome.isolation)
    if c2.button("Save", key="evals_save", icon=":material/save:", type="primary", disabled=bool(problem)):
        try:
            if target == NEW:
                if not (name or "").strip():
                    raise eval_store.EvalError("Give the eval a name.")
                eval_store.create_eval(access, es["id"], name.strip(), source, origin="manual")
                saved = f"Saved the new eval “{name.strip()}”."
            else:
                version = eval_store.add_version(access, target, source)
                saved = f"Saved version {version.version} of “{names[target]}”."
        except eval_store.EvalError as exc:
            st.error(str(exc))
        else:
            st.session_state[NOTICE_KEY] = saved
            st.session_state.pop(TRIED_KEY, None)
            st.rerun()
    tried = st.session_state.get(TRIED_KEY)
    if tried:
        tried_source, rows, level = tried
        if not rows:
            st.info("This eval set has no traces to try it on yet.")
            return
        note = "" if tried_source == source else " (the code changed since: try it again)"
        st.caption(
            f"Tried on {len(rows)} traces of the set, in the sandbox ({level} isolation){note}. Nothing is saved."
        )
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def run_panel(access: Access, es: dict, evals: list[eval_store.Eval]) -> None:
    """Start a run of chosen evals over the set's traces or the workspace's, as a background job."""
    st.subheader("Run")
    if not access.may("run"):
        st.caption(f"Your role ({access.role}) cannot run evals.")
        return
    if not evals:
        st.caption("Nothing to run yet.")
        return
    current = {e.eval_id: e for e in result_store.current_evals(access, es["id"])}
    default = [e.eval_id for e in runs.runnable_evals(access, es["id"])]
    chosen = st.multiselect(
        "Evals (their current version)",
        list(current),
        default=default,
        format_func=lambda i: f"{current[i].name} v{current[i].version} ({current[i].status})",
        key=f"evals_run_pick_{es['id']}",
    )
    n_set = result_store.count_scope(access, es["id"], "set")
    n_all = result_store.count_scope(access, es["id"], "workspace")
    scope = st.radio(
        "Traces",
        ["set", "workspace"],
        format_func=lambda s: (
            f"the set's traces ({fmt_count(n_set)})"
            if s == "set"
            else f"all traces of the workspace ({fmt_count(n_all)})"
        ),
        horizontal=True,
        key="evals_scope",
    )
    if st.button("Run", key="evals_run", type="primary", icon=":material/rocket_launch:", disabled=not chosen):
        label = f"{es['name']} ({'its traces' if scope == 'set' else 'all traces'})"
        try:
            eval_jobs.start_eval_run(access.db, access.user, access.workspace_id, es["id"], chosen, scope, label=label)
        except Exception as exc:  # a refused start is shown, never a traceback
            st.error(f"Could not start the run: {exc}")


def _summary_table(summaries: list[runs.EvalRunSummary]) -> pd.DataFrame:
    def pct(e) -> str:
        if e.value is None:
            return "–"
        return f"{e.value:.0%}" + (f" ({e.low:.0%}–{e.high:.0%})" if e.low is not None else "")

    rows = []
    for s in summaries:
        m = s.metrics
        rows.append(
            {
                "eval": s.name,
                "version": s.version,
                "origin": s.origin,
                "pass": s.passed,
                "fail": s.failed,
                "errors": s.errors,
                "labelled": m.n if m else 0,
                "accuracy": pct(m.accuracy) if m else "–",
                "kappa": "–" if not m or m.kappa.value is None else f"{m.kappa.value:.2f}",
                "contradictions": m.contradictions if m else 0,
            }
        )
    return pd.DataFrame(rows)


def show_run(access: Access, run: result_store.EvalRun, labels: dict[str, str]) -> None:
    """One finished (or stopped) run: its isolation, status and per-eval summary."""
    iso = "reduced isolation" if run.isolation == "reduced" else "full isolation"
    st.markdown(
        f"**Run** {run.started_at:%Y-%m-%d %H:%M} UTC · `{run.status}` · {fmt_count(run.done or 0)} of"
        f" {fmt_count(run.total or 0)} verdicts · {iso}"
    )
    if run.error and run.status == "failed":
        st.error(md(run.error, inline=False))
    summaries = runs.summarize(access, run.id, labels)
    if summaries:
        st.dataframe(_summary_table(summaries), hide_index=True, width="stretch")


def recent_runs(access: Access, es: dict) -> None:
    """Running jobs (progress, cancel) and the set's latest runs with their summaries; polls while one runs."""
    active = [j for j in eval_jobs.eval_run_jobs(access.db, access.user, access.workspace_id) if j.active]

    @st.fragment(run_every=1 if active else None)
    def body() -> None:
        latest = eval_jobs.eval_run_jobs(access.db, access.user, access.workspace_id)
        for job in (j for j in latest if j.active):
            with st.container(border=True):
                st.markdown(f"**{md(job.message or 'Running evals')}** · `{job.status}`")
                st.progress(job.fraction or 0.0, text=f"{fmt_count(job.done)} of {fmt_count(job.total or 0)} verdicts")
                if access.may("run") and st.button("Cancel", key=f"evals_cancel_{job.id}", icon=":material/cancel:"):
                    jobs.cancel(access.db, access.user, access.workspace_id, job.id)
        failed = next((j for j in latest[:1] if j.status == "failed"), None)
        if failed:
            st.error(f"The last run failed: {md(failed.error, inline=False)}")
        done = result_store.list_runs(access, es["id"], limit=5)
        st.subheader("Latest runs")
        if not done:
            st.caption("No runs of this set yet.")
        labels = human_labels(access, es["id"]).labels if done else {}
        for i, run in enumerate(done):
            with st.expander(f"{run.started_at:%Y-%m-%d %H:%M} UTC · {run.status}", expanded=i == 0):
                show_run(access, run, labels)
        if active and not any(j.active for j in latest):
            st.rerun()  # the last job ended: a full rerun stops the timer

    body()
