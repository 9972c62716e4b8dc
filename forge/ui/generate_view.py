"""The Generate evals page's parts: start (LLM or synthesis), progress and cancel, results, one eval's versions."""

from __future__ import annotations

import difflib
from typing import Any

import pandas as pd
import streamlit as st

from forge import generation_jobs, jobs
from forge.evals import authoring
from forge.evals.export import ExportedEval, export_set, module_name, standalone_eval
from forge.store import evals as eval_store
from forge.store.access import Access
from forge.ui.format import fmt_cost, fmt_count, fmt_ms
from forge.ui.widgets import md

HELP = """\
**What this page is for:** turning the set's ratings into evals you can trust. An LLM writes candidate evals
(or, without an LLM, Forge synthesises readable rules); every candidate runs in the sandbox and is kept only
when it agrees with the humans on traces it was **not** built from. Figures carry 95 % intervals; the
human-human agreement is the ceiling, always answering the majority class the floor.

**Kappa:** ✔ green from 0.6, ▲ amber from 0.4, ✖ red below. Evals under 80 % accuracy or kappa 0.4 are flagged.
Per eval: versions, a side-by-side diff, roll back, refine from contradictions, export (.py, or the set as a
pytest file for your CI)."""

SYNTH = "Synthesise without an LLM"
LLM = "Generate with an LLM"


def _interval(figs: dict | None, name: str) -> str:
    if not figs or figs.get(name) is None:
        return "n/a"
    bounds = figs.get(name + "_interval")
    return f"{figs[name]:.2f}" + (f" [{bounds[0]:.2f}–{bounds[1]:.2f}]" if bounds else "")


def kappa_badge(kappa: float | None) -> str:
    """Markdown: the kappa coloured green/amber/red, with a symbol and a word (not colour alone)."""
    colour, text = authoring.kappa_band(kappa)
    return f":{colour}[{text}]"


def llm_models() -> list[str]:
    """Catalog models of configured providers that can write evals (not the offline one)."""
    from forge.llm.catalog import load_catalog
    from forge.llm.registry import provider_statuses

    catalog = load_catalog()
    ready = {s.name for s in provider_statuses(catalog) if s.configured and s.name != "offline"}
    return [name for name, info in catalog.models.items() if info.provider in ready]


def render_start(access: Access, eval_set: dict) -> None:
    """The start panel: LLM (model, k) or synthesis; the LLM choice only when a provider is configured."""
    if not access.may("edit"):
        st.info(f"Your role is **{access.role}**: you can look at the evals here but not generate them.")
        return
    models = llm_models()
    if models:
        method = st.segmented_control("How", [LLM, SYNTH], default=LLM, key="gen_method")
    else:
        method = SYNTH
        st.caption(
            "No LLM provider is configured, so Forge synthesises evals from the ratings."
            f" {md(authoring.how_to_configure())}."
        )
    if method == LLM:
        c1, c2 = st.columns([3, 1])
        model = c1.selectbox("Model", models, key="gen_model")
        k = c2.number_input("Candidates", min_value=1, max_value=10, value=5, key="gen_k")
        if st.button("Generate", type="primary", key="gen_start", disabled=not access.may("run")):
            _submit(
                lambda: generation_jobs.start_generation(
                    access.db, access.user, access.workspace_id, eval_set["id"], model, int(k)
                )
            )
    elif st.button(SYNTH, type="primary", key="gen_synth"):
        _submit(lambda: generation_jobs.start_synthesis(access.db, access.user, access.workspace_id, eval_set["id"]))


def _submit(start) -> None:
    try:
        job = start()
    except Exception as exc:  # shown, never a traceback
        st.error(f"Could not start: {md(exc)}")
        return
    st.session_state["gen_job"] = job.id
    st.rerun()


def _recent_jobs(access: Access) -> list:
    return jobs.recent(access.db, access.user, access.workspace_id, limit=5, kinds=generation_jobs.KINDS)


def render_jobs(access: Access) -> None:
    """Running generation jobs with live progress and cancel; the last one's error if it failed or was cancelled."""
    recent = _recent_jobs(access)
    if any(j.active for j in recent):
        _live_progress(access)
        return
    for job in recent:
        if job.id == st.session_state.get("gen_job") and job.status in ("failed", "cancelled"):
            st.warning(f"{job.kind} {job.status}: {md(job.error)}")


@st.fragment(run_every=1.0)
def _live_progress(access: Access) -> None:
    """Redrawn every second while a job runs; the whole page reruns when it ends (to show its results)."""
    active = [j for j in _recent_jobs(access) if j.active]
    if not active:
        st.rerun(scope="app")
    for job in active:
        st.progress(job.fraction or 0.0, text=f"{md(job.message or job.kind)} ({job.status})")
        if access.may("import") and st.button("Cancel", key=f"gen_cancel_{job.id}"):
            jobs.cancel(access.db, access.user, access.workspace_id, job.id)
            st.rerun(scope="app")


def candidates_table(summary: dict) -> pd.DataFrame:
    """One row per candidate: kept or rejected with why, held-out figures with intervals, flags, cost."""
    rows = []
    for c in summary.get("candidates") or []:
        figs = c.get("metrics")
        usage = c.get("usage") or {}
        rows.append(
            {
                "eval": c["name"],
                "kept": "✔ kept" if c["kept"] else "✖ rejected",
                "reason": c["reason"],
                "kappa": authoring.kappa_band(figs.get("kappa") if figs else None)[1],
                "kappa 95% CI": _interval(figs, "kappa"),
                "accuracy": _interval(figs, "accuracy"),
                "precision": _interval(figs, "precision"),
                "recall": _interval(figs, "recall"),
                "F1": _interval(figs, "f1"),
                "coverage of fails": _interval(figs, "coverage"),
                "false failures": _interval(figs, "false_failure_rate"),
                "flags": "; ".join(c.get("flags") or []),
                "tokens": fmt_count((usage.get("input_tokens") or 0) + (usage.get("output_tokens") or 0))
                if usage
                else "-",
                "cost": fmt_cost(usage.get("cost_usd")) if usage else "-",
                "time": fmt_ms((usage.get("duration_ms") or 0) + (c.get("check_ms") or 0)) if usage else "-",
            }
        )
    return pd.DataFrame(rows)


def _kappa_colour(value: Any) -> str:
    colour = {"✔": "#d4f4dd", "▲": "#fdebc8", "✖": "#f8d0d0"}.get(str(value)[:1])
    return f"background-color: {colour}" if colour else ""


def render_results(summary: dict) -> None:
    """The latest generation: the set's figures beside ceiling and floor, warnings, then every candidate."""
    s = summary.get("set_metrics")
    st.subheader("Latest " + ("generation" if summary.get("kind") == "llm" else "synthesis"))
    st.caption(
        f"{summary.get('ratings')} ratings ({summary.get('passes')} pass, {summary.get('fails')} fail)"
        f" · {md(summary.get('method', ''))}" + (f" · model {md(summary['model'])}" if summary.get("model") else "")
    )
    for warning in [*(summary.get("warnings") or []), *(summary.get("selection_warnings") or [])]:
        st.warning(warning)
    if summary.get("error"):
        st.error(f"The provider failed: {md(summary['error'])}. The candidates made before are kept below.")
    c1, c2, c3 = st.columns(3)
    c1.markdown(
        f"**Chosen set** ({', '.join(summary.get('chosen') or []) or 'none'}; a trace passes when all pass)  \n"
        f"kappa {kappa_badge(s.get('kappa') if s else None)} {_interval(s, 'kappa')}  \n"
        f"accuracy {_interval(s, 'accuracy')} · F1 {_interval(s, 'f1')}  \n"
        f"precision {_interval(s, 'precision')} · recall {_interval(s, 'recall')}  \n"
        f"coverage of fails {_interval(s, 'coverage')} · false failures {_interval(s, 'false_failure_rate')}"
    )
    ceiling = summary.get("ceiling") or {}
    c2.markdown(f"**Ceiling** (humans vs humans)  \n{md(ceiling.get('text', 'n/a'))}")
    base = summary.get("baseline")
    c3.markdown(
        f"**Floor** (always the majority class)  \naccuracy {_interval(base, 'accuracy')}"
        f" · kappa {_interval(base, 'kappa')} · F1 {_interval(base, 'f1')}"
    )
    for flag in (s or {}).get("flags") or []:
        st.error(f"Chosen set flagged: {md(flag)}")
    table = candidates_table(summary)
    if not table.empty:
        st.dataframe(table.style.map(_kappa_colour, subset=["kappa"]), hide_index=True, key="gen_results")
    usage = summary.get("usage")
    if usage:
        st.caption(
            f"Generation: {fmt_count(usage['input_tokens'])} tokens in, {fmt_count(usage['output_tokens'])} out,"
            f" {fmt_cost(usage['cost_usd'])}, {fmt_ms(usage['duration_ms'])} of model time;"
            f" {summary.get('seconds')} s in all"
        )


def render_eval(access: Access, eval_set: dict, eval_id: str, open_refine: bool) -> None:
    """One eval: its versions with metrics, a side-by-side diff, roll back, refine, export."""
    ev = eval_store.get_eval(access, eval_id)
    if ev is None:
        st.info("That eval is not in this workspace.")
        return
    versions = eval_store.versions(access, eval_id)
    current = ev.current_version or ev.latest_version
    st.markdown(f"**{md(ev.name)}** · {ev.origin} · {ev.status} · current version v{current}")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "version": f"v{v.version}" + (" (current)" if v.version == current else ""),
                    "parent": f"v{v.parent_version}" if v.parent_version else "",
                    "note": v.note or "",
                    "model": v.model or "",
                    "kappa": authoring.kappa_band((v.metrics or {}).get("kappa"))[1],
                    "accuracy": _interval(v.metrics, "accuracy"),
                    "F1": _interval(v.metrics, "f1"),
                    "created": v.created_at,
                }
                for v in versions
            ]
        ),
        hide_index=True,
        key="gen_versions",
    )
    numbers = [v.version for v in versions]
    if len(numbers) > 1:
        a, b = st.columns(2)
        left = a.selectbox(
            "Version A", numbers, index=len(numbers) - 2, format_func=lambda n: f"v{n}", key="gen_diff_a"
        )
        right = b.selectbox(
            "Version B", numbers, index=len(numbers) - 1, format_func=lambda n: f"v{n}", key="gen_diff_b"
        )
        by_number = {v.version: v for v in versions}
        for col, v in ((a, by_number[left]), (b, by_number[right])):
            col.caption(
                f"v{v.version}: kappa {_interval(v.metrics, 'kappa')} · accuracy {_interval(v.metrics, 'accuracy')}"
            )
            col.code(v.source, language="python")
        diff = difflib.unified_diff(
            by_number[left].source.splitlines(),
            by_number[right].source.splitlines(),
            f"v{left}",
            f"v{right}",
            lineterm="",
        )
        st.code("\n".join(diff) or "(no difference)", language="diff")
        if access.may("edit"):
            back = st.selectbox(
                "Make current",
                numbers,
                index=numbers.index(current),
                format_func=lambda n: f"v{n}",
                key="gen_current_pick",
            )
            if st.button("Roll back to this version", key="gen_rollback", disabled=back == current):
                eval_store.set_current_version(access, eval_id, back)
                st.session_state["gen_notice"] = f"{ev.name} now uses v{back}."
                st.rerun()
    render_refine(access, ev, open_refine)
    version = eval_store.get_version(access, eval_id)
    exported = ExportedEval(ev.name, version.version, version.source, ev.origin, version.metrics)
    st.download_button(
        "Export this eval (.py)",
        standalone_eval(exported, eval_set["name"], eval_set.get("criterion") or ""),
        file_name=f"{module_name(ev.name)}_v{version.version}.py",
        mime="text/x-python",
        key="gen_export_eval",
    )


def render_refine(access: Access, ev, open_refine: bool) -> None:
    """The eval's contradictions (run in the sandbox on demand) and the button that refines it from them."""
    with st.expander("Refine from contradictions", expanded=open_refine):
        shown = st.session_state.get("gen_contradictions")
        if open_refine or st.button("Show contradictions", key="gen_show_contra"):
            if not shown or shown[0] != ev.id:
                with st.spinner("Running the eval over the rated traces in the sandbox…"):
                    rows, figs = authoring.contradictions(access, ev.id)
                shown = st.session_state["gen_contradictions"] = (ev.id, rows, figs)
        if shown and shown[0] == ev.id:
            _, rows, _ = shown
            if not rows:
                st.success("It agrees with every rated trace: nothing to refine.")
            else:
                st.dataframe(pd.DataFrame([r.__dict__ for r in rows]), hide_index=True, key="gen_contra_table")
        if access.may("edit") and st.button("Refine (new version)", key="gen_refine", disabled=not access.may("run")):
            _submit(lambda: generation_jobs.start_refinement(access.db, access.user, access.workspace_id, ev.id))


def render_set_export(access: Access, eval_set: dict) -> None:
    """The set's kept evals (current versions) as one pytest file."""
    exported = export_set(access, eval_set)
    if not exported.evals:
        return
    st.download_button(
        f"Export the {exported.evals} kept eval(s) as a pytest file",
        exported.text,
        file_name=exported.file_name,
        mime="text/x-python",
        key="gen_export_set",
    )


def eval_label(row: dict) -> str:
    figs = row.get("metrics") or {}
    mark = "✔" if row["status"] == "kept" else "✖"
    return f"{mark} {row['name']} v{row['version']} ({row['origin']}, kappa {_interval(figs, 'kappa')})"
