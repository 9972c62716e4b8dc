"""The eval sets page's widgets: the list, create, settings and criterion versions, and the human-human
agreement panel with its disagreements and their resolution. Logic lives in ``forge.review.eval_sets``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from forge import auth
from forge.review import eval_sets
from forge.store import ratings as rating_store
from forge.store.access import Access
from forge.ui.format import BLANK, fmt_count
from forge.ui.widgets import md, page_help

NOTICE = "eval_sets_notice"
ICONS = {"pass": "👍", "fail": "👎", "neutral": "😐"}


def _do(fn, success: str) -> None:
    """Run an action; on success leave a notice for the next run and rerun, else show why not."""
    try:
        fn()
    except (ValueError, auth.AuthError) as exc:
        st.error(str(exc))
        return
    st.session_state[NOTICE] = success
    st.rerun()


def notice() -> None:
    text = st.session_state.pop(NOTICE, None)
    if text:
        st.success(text)


def help_panel() -> None:
    page_help(
        "An **eval set** is one criterion ('answers only from the retrieved documents') and the ratings made "
        "against it. Here you create sets, edit the criterion (every edit is a new version; ratings made "
        "under an earlier one can be re-queued for re-check), choose blind review and raters per trace, "
        "archive sets (hidden, ratings kept), and see how far the human raters agree with each other before "
        "asking evals to agree with them. Disagreements can be resolved: the resolution becomes the label "
        "every metric uses (else the majority; ties are left out)."
    )


def create_form(access: Access) -> None:
    """A form for a new eval set (needs edit)."""
    with st.expander("New eval set", expanded=False), st.form("eval_sets_new", clear_on_submit=True):
        name = st.text_input("Name", key="eval_sets_new_name", placeholder="e.g. Grounded answers")
        criterion = st.text_area("Criterion: what 'pass' means", key="eval_sets_new_criterion")
        a, b, c = st.columns(3)
        target = a.number_input("Target ratings per class", 1, 100_000, 20, key="eval_sets_new_target")
        raters = b.number_input("Raters per trace", 1, eval_sets.MAX_RATERS_PER_TRACE, 1, key="eval_sets_new_k")
        blind = c.checkbox(
            "Blind review", key="eval_sets_new_blind", help="Raters see others' ratings only after rating"
        )
        if st.form_submit_button("Create eval set", type="primary"):
            _do(
                lambda: eval_sets.create(access, name, criterion, int(target), blind, int(raters)),
                f"Eval set '{name.strip()}' created.",
            )


def sets_table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Eval set": r["name"],
                "Criterion": (r["criterion"] or "")[:120],
                "Version": f"v{r['criterion_version']}",
                "Ratings": r["ratings"],
                "Raters": r["raters"],
                "Rated traces": r["rated_traces"],
                "Queue": fmt_count(r["queued_traces"]) if r["scoped"] else "whole workspace",
                "Blind": "yes" if r["blind"] else "",
                "Raters per trace": r["raters_per_trace"],
                "Archived": "archived" if r["archived"] else "",
            }
            for r in rows
        ]
    )


def settings(access: Access, es: dict) -> None:
    """Rename, settings, criterion (new version), archive, scope, re-queue outdated ratings, export."""
    may_edit = access.may("edit")
    with st.form(f"eval_sets_settings_{es['id']}"):
        name = st.text_input("Name", es["name"], key=f"eval_sets_name_{es['id']}")
        criterion = st.text_area(
            f"Criterion (now v{es['criterion_version']}; saving a change makes a new version)",
            es["criterion"] or "",
            key=f"eval_sets_criterion_{es['id']}",
        )
        a, b, c = st.columns(3)
        target = a.number_input(
            "Target ratings per class", 1, 100_000, int(es["target_per_class"]), key=f"eval_sets_target_{es['id']}"
        )
        raters = b.number_input(
            "Raters per trace",
            1,
            eval_sets.MAX_RATERS_PER_TRACE,
            int(es["raters_per_trace"]),
            key=f"eval_sets_k_{es['id']}",
        )
        blind = c.checkbox("Blind review", bool(es["blind"]), key=f"eval_sets_blind_{es['id']}")
        if st.form_submit_button("Save", disabled=not may_edit):

            def save():
                eval_sets.update(
                    access, es["id"], name=name, target_per_class=int(target), raters_per_trace=int(raters), blind=blind
                )
                eval_sets.edit_criterion(access, es["id"], criterion)

            _do(save, "Eval set saved.")
    outdated, requeued = rating_store.outdated_count(access, es["id"])
    if outdated:
        st.warning(
            f"{outdated} rating{'s' if outdated != 1 else ''} were made under an earlier criterion"
            f" ({requeued} re-queued for re-check)."
        )
        if outdated > requeued and st.button(
            "Re-queue them for re-check", key="eval_sets_requeue", disabled=not may_edit
        ):
            _do(lambda: rating_store.requeue_outdated(access, es["id"]), "Re-queued: each rater sees them again.")
    versions = rating_store.criterion_versions(access, es["id"])
    if len(versions) > 1:
        with st.expander(f"Criterion versions ({len(versions)})"):
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "Version": f"v{v['version']}",
                            "Criterion": v["criterion"],
                            "By": v["created_by"] or "",
                            "When": v["created_at"],
                            "Ratings under it": v["ratings"],
                        }
                        for v in versions
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
    cols = st.columns(3)
    if es["scoped"]:
        cols[0].caption("Queue: the traces added from the Traces page.")
        if cols[0].button("Use the whole workspace", key="eval_sets_unscope", disabled=not may_edit):
            _do(lambda: rating_store.clear_set_scope(access, es["id"]), "The queue is the whole workspace again.")
    else:
        cols[0].caption("Queue: the whole workspace (add traces from the Traces page to narrow it).")
    label = "Unarchive" if es["archived"] else "Archive"
    if cols[1].button(
        label, key="eval_sets_archive", disabled=not may_edit, help="Archived sets are hidden; ratings are kept"
    ):
        _do(lambda: eval_sets.update(access, es["id"], archived=not es["archived"]), f"Eval set {label.lower()}d.")
    cols[2].download_button(
        "Export ratings (CSV)",
        eval_sets.export_csv(eval_sets.export_rows(access, es["id"])),
        file_name=f"{es['name']}-ratings.csv",
        mime="text/csv",
        key="eval_sets_export",
    )


def _fmt(x: float | None) -> str:
    return BLANK if x is None else f"{x:.2f}"


def agreement_panel(access: Access, es: dict) -> None:
    """How far the human raters agree, the traces they disagree on side by side, and resolving them."""
    st.subheader("Human-human agreement")
    reveal = (
        bool(es["blind"])
        and access.may("edit")
        and st.toggle(
            "Show every disagreement (you will see ratings of traces you have not rated)", key="eval_sets_reveal"
        )
    )
    panel = eval_sets.agreement_panel(access, es, reveal=reveal)
    report = panel.report
    if len(report.raters) < 2:
        st.info(
            "Agreement needs two raters or more on the same traces. Set 'Raters per trace' above 1 and have "
            "several people rate on the Review page."
        )
    cols = st.columns(4)
    cols[0].metric("Raters", len(report.raters))
    cols[1].metric("Rated traces", fmt_count(report.n_traces))
    cols[2].metric("Fleiss' kappa", _fmt(report.fleiss_kappa), help=f"{report.fleiss_n_items} traces every rater rated")
    cols[3].metric(
        "Krippendorff's alpha",
        _fmt(report.krippendorff_alpha),
        help=f"{report.krippendorff_n_items} traces two raters or more rated (raters may rate different subsets)",
    )
    if report.pairs:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Rater A": p.rater_a,
                        "Rater B": p.rater_b,
                        "Shared traces": p.n_shared,
                        "Agreement": BLANK if p.percent_agreement is None else f"{p.percent_agreement:.0%}",
                        "Cohen's kappa": _fmt(p.kappa),
                    }
                    for p in report.pairs
                ]
            ),
            hide_index=True,
            width="stretch",
            key="eval_sets_pairs",
        )
    labels = panel.labels
    st.caption(
        f"Labels every metric uses: {labels['pass']} pass, {labels['fail']} fail; {labels['ties']} ties left out;"
        f" {labels['resolved']} resolved by an analyst. Neutral ratings count nowhere."
    )
    st.markdown(f"**Disagreements** ({len(report.disagreements)})")
    if panel.hidden:
        st.caption(f"{panel.hidden} more on traces you have not rated are hidden (blind review).")
    if not panel.disagreements:
        st.caption("None: wherever two raters rated the same trace, they agreed.")
    for d in panel.disagreements:
        _disagreement(access, es, d)


def _disagreement(access: Access, es: dict, d: eval_sets.DisagreementRow) -> None:
    with st.container(border=True):
        st.markdown(f"**{md(d.name) or '(unnamed)'}** · `{d.trace_id}`")
        st.caption("Output: " + md(d.output_preview))
        cols = st.columns(max(1, len(d.ratings)))
        for col, (rater, r) in zip(cols, d.ratings.items(), strict=False):
            col.markdown(f"{ICONS[r['value']]} **{md(rater)}**: {r['value']}")
            if r.get("note"):
                col.caption(md(r["note"]))
        if d.resolution:
            st.success(
                f"Resolved: {d.resolution['value']} by {d.resolution['resolved_by']}"
                + (f" — {md(d.resolution['note'])}" if d.resolution.get("note") else "")
            )
        if access.may("edit"):
            a, b, c = st.columns([2, 3, 1])
            value = a.segmented_control("Resolve as", ["pass", "fail", "neutral"], key=f"eval_sets_res_{d.trace_id}")
            note = b.text_input("Why", key=f"eval_sets_res_note_{d.trace_id}")
            if c.button("Resolve", key=f"eval_sets_res_btn_{d.trace_id}", disabled=value is None):
                _do(lambda: eval_sets.resolve(access, es["id"], d.trace_id, value, note), "Disagreement resolved.")
