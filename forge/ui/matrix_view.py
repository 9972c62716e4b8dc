"""The contradiction matrix page's parts: filters, the coloured page of cells, the drill-down with its
actions, the statistics panel and the exports (pages/matrix.py only arranges them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
import streamlit as st

from forge import matrix
from forge.evals.metrics import Estimate
from forge.store import matrix as matrix_store
from forge.traces import langfuse
from forge.traces import query as trace_query
from forge.traces.langfuse import LangfuseError
from forge.ui import matrix_charts, navigation, trace_view
from forge.ui.format import fmt_count, fmt_ms
from forge.ui.widgets import md, pager

# Okabe-Ito fills with a text colour that reads on each; the symbol says the same as the colour.
CELL_STYLES = {
    "agree": ("#009E73", "#000000"),  # bluish green: green to everyone, apart from vermillion to the colour-blind
    "contradiction": ("#D55E00", "#ffffff"),
    "error": ("#E69F00", "#000000"),
    "unrated": ("#BBBBBB", "#000000"),
}
STATUS_WORDS = {
    "agree": "agrees with the human",
    "contradiction": "contradicts the human",
    "error": "eval error or timeout",
    "unrated": "no human label (verdict shown)",
}
HUMAN_WORDS = {"pass": "👍 pass", "fail": "👎 fail", None: "· unrated"}
SORT_WORDS = {
    "contradictions": "most contradictions first",
    "errors": "most errors first",
    "newest": "newest first",
    "oldest": "oldest first",
}
TABLE_KEY = "matrix_table"
PICK_TRACE, PICK_EVAL = "matrix_pick_trace", "matrix_pick_eval"
HELP = """
**What this is for.** Every trace of the eval set (rows) against every eval (columns), beside the human label.
Start with the vermillion **✗** cells: there an eval contradicts the humans. Then decide who is wrong.

- **Select a cell** (or pick a trace and an eval below the table) to see the trace, the verdict and its reason,
  the eval's code with the lines that decided it, and the human ratings.
- From there: **re-rate** the trace, **mark the human label wrong**, or **send this eval's contradictions to
  refinement** on the generation page.
- The sidebar filters rows (contradictions only, errors only, human label, rater, dates, source, tag, text)
  and columns (which evals; older versions too). Rows are sorted by their number of contradictions.
- **Statistics** has per-eval accuracy, precision, recall, F1 and Cohen's kappa with 95 % intervals, the
  humans' own agreement as the ceiling, redundant evals and the smallest set of evals worth keeping.
- **Export** downloads CSV or Parquet, or pushes labels and verdicts to Langfuse as scores.

A reason that says `line 12` or quotes a pattern (`matched 'refund'`) highlights that line of the eval's code.
"""


def legend() -> str:
    """The cell legend as HTML: the same coloured chips as the table, each with its symbol and meaning."""
    chips = [
        f"<span style='background:{bg};color:{fg};padding:1px 8px;border-radius:4px;font-weight:600'>"
        f"{matrix.SYMBOLS[status]}</span> {STATUS_WORDS[status]}"
        for status, (bg, fg) in CELL_STYLES.items()
    ]
    return " &nbsp; ".join(chips) + " &nbsp; <span style='opacity:0.7'>(blank: not run)</span>"


def cell_text(status: str | None, verdict: str | None) -> str:
    """What a cell shows: the status symbol and the verdict word (so the table reads without colour)."""
    if not isinstance(status, str):  # None, or NaN once pandas held it: not run
        return ""
    return f"{matrix.SYMBOLS[status]} {verdict}"


def page_frame(result: matrix_store.MatrixPage, cols: Sequence[dict]):
    """The visible page as a styled table (a pandas Styler): only these rows go to the browser."""
    wide = matrix.pivot(result, cols)
    if wide.empty:
        return pd.DataFrame().style
    table = pd.DataFrame(
        {
            "✗": wide["n_contradictions"],
            "Human": [
                HUMAN_WORDS.get(label, "· unrated") + (" (tie)" if tie else "") + (" ✎" if resolved else "")
                for label, tie, resolved in zip(wide["label"], wide["tie"], wide["resolved"], strict=True)
            ],
            "Note": wide["note"].fillna(""),
            "Trace": wide["name"].fillna("(unnamed)"),
            "Time": wide["timestamp"],
            "Input": wide["input_preview"],
        }
    )
    statuses = {}
    for c in cols:
        statuses[c["label"]] = wide[c["label"]]
        table[c["label"]] = [
            cell_text(s, v) for s, v in zip(wide[c["label"]], wide[c["label"] + " verdict"], strict=True)
        ]
    status_frame = pd.DataFrame(statuses)
    # The verdicts beside the human label, before the wide text columns: no sideways scrolling to find red.
    context = ["Note", "Trace", "Time", "Input"]
    table = table[[c for c in table.columns if c not in context] + context]

    def colour(frame: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame("", index=frame.index, columns=frame.columns)
        for label in statuses:
            out[label] = [
                f"background-color: {CELL_STYLES[s][0]}; color: {CELL_STYLES[s][1]}" if s in CELL_STYLES else ""
                for s in status_frame[label]
            ]
        return out

    return table.style.apply(colour, axis=None)


# ---------------------------------------------------------------- filters


def sidebar_filters(access, eval_set_id: str, cols: Sequence[dict]) -> tuple[matrix.MatrixFilters, list[dict]]:
    """The sidebar's row and column filters; returns the filters and the columns to show."""
    with st.sidebar:
        st.subheader("Filter the matrix")
        cells = st.segmented_control(
            "Show",
            ["contradictions", "errors"],
            format_func=lambda x: {"contradictions": "✗ contradictions only", "errors": "! errors only"}[x],
            key="matrix_cells",
        )
        labels = [c["label"] for c in cols]
        chosen = st.multiselect("Evals", labels, key="matrix_evals", placeholder="all evals")
        human = st.selectbox(
            "Human label",
            [None, *matrix_store.HUMAN_FILTERS],
            format_func=lambda x: "any" if x is None else HUMAN_WORDS.get(x if x != "unrated" else None, x),
            key="matrix_human",
        )
        raters = matrix_store.set_raters(access, eval_set_id)
        rater = st.selectbox(
            "Rated by", [None, *raters], format_func=lambda x: "anyone" if x is None else x, key="matrix_rater"
        )
        days = st.date_input("Trace dates (UTC)", value=(), key="matrix_days")
        sources = st.multiselect("Source", ["langfuse", "file", "playground", "otel"], key="matrix_sources")
        tags = st.text_input("Tags (comma-separated, any of)", key="matrix_tags")
        text = st.text_input("Search input, output, name or id", key="matrix_text", placeholder="e.g. refund")
    first, last = (list(days) + [None, None])[:2] if days else (None, None)
    start, end = trace_query.day_range(first, last) if isinstance(first, date) else (None, None)
    filters = matrix.MatrixFilters(
        cells=cells,
        human=human,
        rater=rater,
        start=start,
        end=end,
        sources=tuple(sources),
        tags=tuple(t.strip() for t in tags.split(",") if t.strip()),
        text=text or None,
    )
    shown = [c for c in cols if not chosen or c["label"] in chosen]
    return filters, shown


# ---------------------------------------------------------------- the matrix


def render_matrix(access, eval_set_id: str, cols: Sequence[dict], filters: matrix.MatrixFilters):
    """The sort and paging controls, the coloured page and the picked cell; returns the page."""
    left, mid, _ = st.columns([2, 1, 2])
    sort = left.selectbox("Sort", list(matrix_store.SORTS), format_func=SORT_WORDS.get, key="matrix_sort")
    page_size = mid.selectbox("Per page", matrix_store.PAGE_SIZES, index=1, key="matrix_page_size")
    signature = (filters, sort, page_size, tuple(c["version_id"] for c in cols), eval_set_id)
    if st.session_state.get("matrix_signature") != signature:  # a new filter starts again at page 1
        st.session_state["matrix_signature"] = signature
        st.session_state["matrix_page"] = 1
    page_no = st.session_state.setdefault("matrix_page", 1)
    result = matrix.page(access, eval_set_id, cols, filters, page_no=page_no, page_size=page_size, sort=sort)
    if result.total and page_no > result.pages:
        st.session_state["matrix_page"] = result.pages
        st.rerun()
    st.markdown(legend(), unsafe_allow_html=True)
    if not result.rows and filters.active:
        st.info("No trace matches these filters — loosen them in the sidebar.")
        return result
    if not result.rows:
        st.info("This eval set has no traces yet — rate some traces in it, or run its evals on traces.")
        st.page_link("pages/traces.py", label="Pick traces on the Traces page", icon=":material/timeline:")
        return result
    event = st.dataframe(
        page_frame(result, cols),
        key=TABLE_KEY,
        on_select="rerun",
        selection_mode=["single-cell", "single-row"],
        hide_index=True,
        width="stretch",
        height=trace_view.table_height(len(result.rows)),
        column_config={"Time": st.column_config.DatetimeColumn("Time", format="YYYY-MM-DD HH:mm")},
    )
    _sync_pick_from_table(event, result, cols)
    pager(
        "matrix",
        result.page,
        result.pages,
        result.page_size,
        len(result.rows),
        result.total,
        f" · page {fmt_count(result.page)} / {fmt_count(result.pages)}. Select a cell to explain it.",
    )
    return result


def _sync_pick_from_table(event, result: matrix_store.MatrixPage, cols: Sequence[dict]) -> None:
    """A cell (or row) selected in the table becomes the drill-down's trace and eval."""
    selection = getattr(event, "selection", None) or {}
    cells = selection.get("cells") or []
    rows = selection.get("rows") or []
    picked = (cells[0][0], cells[0][1]) if cells else ((rows[0], None) if rows else None)
    if not picked or picked == st.session_state.get("matrix_last_pick"):
        return
    st.session_state["matrix_last_pick"] = picked
    row, column = picked
    if 0 <= row < len(result.rows):
        st.session_state[PICK_TRACE] = result.rows[row]["trace_id"]
    labels = {c["label"]: c["version_id"] for c in cols}
    if column in labels:
        st.session_state[PICK_EVAL] = labels[column]


# ---------------------------------------------------------------- drill-down


def render_drilldown(access, eval_set: dict, result: matrix_store.MatrixPage, cols: Sequence[dict]) -> None:
    """The picked cell explained, with the actions an analyst takes from there."""
    if not result.rows or not cols:
        return
    st.subheader("Explain a cell")
    rows = {r["trace_id"]: r for r in result.rows}
    if st.session_state.get(PICK_TRACE) not in rows:
        st.session_state[PICK_TRACE] = result.rows[0]["trace_id"]
    labels = {c["version_id"]: c for c in cols}
    if st.session_state.get(PICK_EVAL) not in labels:
        st.session_state[PICK_EVAL] = cols[0]["version_id"]
    left, right = st.columns(2)
    trace_id = left.selectbox(
        "Trace",
        list(rows),
        format_func=lambda t: f"{rows[t]['name'] or '(unnamed)'} · ✗{rows[t]['n_contradictions']} · {t}",
        key=PICK_TRACE,
    )
    version_id = right.selectbox("Eval", list(labels), format_func=lambda v: labels[v]["label"], key=PICK_EVAL)
    row, col = rows[trace_id], labels[version_id]
    cell = next((c for c in result.cells if c["trace_id"] == trace_id and c["version_id"] == version_id), None)
    if cell is not None:  # the page carries statuses; the reason, error and duration are read for this cell
        cell = {**cell, **(matrix_store.cell_detail(access, version_id, trace_id) or {})}
    _verdict_panel(access, row, col, cell)
    _actions(access, eval_set, row, col)
    detail = trace_query.trace_detail(access, trace_id)
    with st.expander("The trace (input, output, steps)", expanded=True):
        if detail is None:
            st.warning("This trace is no longer in this workspace.")
        else:
            trace_view.render_trace(detail, key="matrix_trace")


def _verdict_panel(access, row: dict, col: dict, cell: dict | None) -> None:
    status = cell["status"] if cell else None
    human = HUMAN_WORDS.get(row["label"], "· unrated")
    if cell is None:
        st.info(f"**{md(col['label'])}** has not run on this trace yet. Human label: {human}.")
    else:
        bg, fg = CELL_STYLES[status]
        verdict = matrix.VERDICT_WORDS[cell["verdict"]]
        st.markdown(
            f"<span style='background:{bg};color:{fg};padding:2px 10px;border-radius:4px;font-weight:600'>"
            f"{matrix.SYMBOLS[status]} {STATUS_WORDS[status]}</span> &nbsp; eval says **{verdict}**, human label"
            f" **{human}**",
            unsafe_allow_html=True,
            help="Colour and symbol mean the same thing.",
        )
        a, b = st.columns([3, 1])
        a.markdown(f"**Reason:** {md(cell['reason']) or '(none given)'}")
        if cell["error"]:
            a.error(cell["error"])
        b.metric("Duration", fmt_ms(cell["duration_ms"]))
    version = matrix_store.version_detail(access, col["version_id"])
    if version:
        decisive = matrix.decisive_lines(version["source"], cell["reason"] if cell else None)
        st.markdown(
            f"**Code of {md(col['label'])}**"
            + (
                f" — line{'s' if len(decisive) > 1 else ''} {', '.join(map(str, decisive))} decided it"
                if decisive
                else ""
            )
        )
        st.code(matrix.marked_source(version["source"], decisive), language="python", line_numbers=True)
    st.markdown(f"**Human label:** {human}" + (f" — {md(row['note'])}" if row.get("note") else ""))


def _actions(access, eval_set: dict, row: dict, col: dict) -> None:
    trace_id = row["trace_id"]
    rate, fix, refine = st.columns(3)
    with rate:
        st.markdown("**Re-rate this trace**")
        if access.may("rate"):
            value = st.segmented_control(
                "Your rating", ["pass", "fail", "neutral"], key=f"matrix_rerate_value_{trace_id}"
            )
            note = st.text_input("Note", key=f"matrix_rerate_note_{trace_id}")
            if st.button("Save my rating", key="matrix_rerate_save", disabled=value is None):
                matrix.rerate(access, eval_set["id"], trace_id, value, note or None)
                st.session_state["matrix_notice"] = f"Your rating ({value}) is saved; the matrix is updated."
                st.rerun()
        else:
            st.caption("Your role cannot rate.")
    with fix:
        st.markdown("**The human label is wrong**")
        if row["label"] not in ("pass", "fail"):
            st.caption("No pass/fail label to mark wrong.")
        elif access.may("edit"):
            flipped = "fail" if row["label"] == "pass" else "pass"
            if st.button(f"Mark wrong: make it {flipped}", key="matrix_label_wrong"):
                matrix.mark_label_wrong(access, eval_set["id"], trace_id, row["label"])
                st.session_state["matrix_notice"] = f"Label marked wrong: now {flipped}."
                st.rerun()
        else:
            st.caption("Only roles that edit eval sets can overrule a label.")
    with refine:
        st.markdown("**Fix the eval**")
        page, params = matrix.refine_target(eval_set["id"], col["eval_id"])
        spec = next((p for p in navigation.PAGES if p.path == page and p.exists), None)
        if spec and access.may("edit"):
            st.page_link(page, label=f"Refine {col['name']} from its contradictions", icon="🛠️", query_params=params)
        else:
            st.caption("Refinement opens on the generation page (not available here).")


# ---------------------------------------------------------------- statistics


@st.cache_data(show_spinner=False, max_entries=16)
def _statistics(
    _access, workspace_id: str, eval_set_id: str, version_ids: tuple, version: tuple, max_ff: float
) -> matrix.MatrixStats:
    cols = [c for c in matrix.columns(_access, eval_set_id, all_versions=True) if c["version_id"] in version_ids]
    cols.sort(key=lambda c: version_ids.index(c["version_id"]))
    return matrix.statistics(_access, eval_set_id, cols, max_ff)


def statistics_for(access, eval_set_id: str, cols: Sequence[dict], max_ff: float) -> matrix.MatrixStats:
    """The set's statistics, recomputed only when its ratings, resolutions or results change."""
    version = matrix_store.data_version(access, eval_set_id)
    vids = tuple(c["version_id"] for c in cols)
    return _statistics(access, access.workspace_id, eval_set_id, vids, tuple(map(str, version)), max_ff)


def _fig(e: Estimate, percent: bool = True) -> str:
    if e.value is None:
        return "—"
    f = (lambda x: f"{x:.0%}") if percent else (lambda x: f"{x:.2f}")
    if e.low is None:
        return f(e.value)
    return f"{f(e.value)} ({f(e.low)}–{f(e.high)})"


def stats_display(stats: matrix.MatrixStats) -> pd.DataFrame:
    """The statistics table as shown: each figure with its 95 % interval, the minimal set starred."""
    keep = set(stats.minimal.evals) if stats.minimal else set()
    rows = [
        {
            "Eval": ("★ " if s.column["label"] in keep else "") + s.column["label"],
            "Accuracy": _fig(s.metrics.accuracy),
            "Precision": _fig(s.metrics.precision),
            "Recall": _fig(s.metrics.recall),
            "F1": _fig(s.metrics.f1, percent=False),
            "Kappa": _fig(s.metrics.kappa, percent=False),
            "✗ Contradictions": s.metrics.contradictions,
            "! Errors": s.metrics.errors,
            "Judged": s.metrics.n,
        }
        for s in stats.evals
    ]
    ceiling = stats.human_agreement
    rows.append(
        {
            "Eval": "Humans vs humans (ceiling)",
            "Accuracy": "—" if ceiling is None else f"{ceiling:.0%}",
            "Kappa": "—" if stats.human_kappa is None else f"{stats.human_kappa:.2f}",
            "Judged": sum(p.n_shared for p in stats.human.pairs),
        }
    )
    return pd.DataFrame(rows)


def render_statistics(access, eval_set_id: str, cols: Sequence[dict]) -> None:
    """Per-eval figures with intervals, the human ceiling, confusion matrices, redundancy, minimal set, drift."""
    max_ff = st.slider(
        "False-failure ceiling for the minimal eval set",
        0.0,
        0.5,
        matrix.DEFAULT_MAX_FALSE_FAILURE,
        0.01,
        format="%.2f",
        key="matrix_max_ff",
        help="The most of the humans' passes the chosen evals may fail.",
    )
    stats = statistics_for(access, eval_set_id, cols, max_ff)
    a, b, c, d = st.columns(4)
    a.metric("Human pass labels", fmt_count(stats.labels.get("pass", 0)))
    b.metric("Human fail labels", fmt_count(stats.labels.get("fail", 0)))
    ceiling = stats.human_agreement
    c.metric(
        "Human-human agreement",
        "—" if ceiling is None else f"{ceiling:.0%}",
        help="Where two raters or more rated a trace; no eval can be expected to agree with the humans more"
        " than they agree with each other.",
    )
    d.metric("Human-human kappa", "—" if stats.human_kappa is None else f"{stats.human_kappa:.2f}")
    st.markdown("**Per eval** (95 % intervals; fail is the positive class; ★ = in the minimal set)")
    st.dataframe(stats_display(stats), hide_index=True, width="stretch", key="matrix_stats_table")
    m = stats.minimal
    if m is not None:
        if m.evals:
            st.success(
                f"**Minimal eval set:** {', '.join(m.evals)} — catches {m.caught} of {m.human_fails} human fails"
                f" (coverage {m.coverage:.0%}) while failing {m.false_failures} of {m.human_passes} human passes"
                f" (false-failure rate {(m.false_failure_rate or 0):.0%})."
            )
        else:
            st.warning(f"No eval catches a human fail within a false-failure rate of {max_ff:.0%}: raise the ceiling.")
    table = matrix.stats_table(stats)
    st.markdown("**Confusion matrices**")
    st.altair_chart(matrix_charts.confusion_chart(matrix_charts.confusion_frame(table.iloc[:-1].to_dict("records"))))
    names = [c["label"] for c in cols]
    if len(names) > 1:
        st.markdown("**Eval vs eval agreement** — near 100 %: the two evals are redundant")
        st.altair_chart(
            matrix_charts.agreement_heatmap(matrix_charts.agreement_frame(stats.pairs, sorted(names))), width="stretch"
        )
    st.markdown("**Agreement over time** (by week of trace timestamp)")
    if stats.weekly.empty:
        st.caption("No labelled trace with a verdict and a timestamp yet.")
    else:
        st.altair_chart(matrix_charts.weekly_chart(stats.weekly), width="stretch")
    st.download_button(
        "Statistics table (CSV)", matrix.to_csv(table), "matrix-statistics.csv", "text/csv", key="matrix_stats_csv"
    )


# ---------------------------------------------------------------- export and Langfuse


def render_export(access, eval_set: dict, cols: Sequence[dict]) -> None:
    """Downloads of the whole matrix, and the push of labels and verdicts to Langfuse."""
    st.markdown("**The whole matrix** — one row per trace: human label and notes, one column per eval version.")
    left, right = st.columns(2)
    frame = lambda: matrix.export_frame(access, eval_set["id"], cols)  # noqa: E731 - built only on click
    left.download_button(
        "Matrix (CSV)", lambda: matrix.to_csv(frame()), "matrix.csv", "text/csv", key="matrix_csv", width="stretch"
    )
    right.download_button(
        "Matrix (Parquet)",
        lambda: matrix.to_parquet(frame()),
        "matrix.parquet",
        "application/vnd.apache.parquet",
        key="matrix_parquet",
        width="stretch",
    )
    st.divider()
    st.markdown("**Send to Langfuse** — human labels and eval verdicts as BOOLEAN scores on the Langfuse traces.")
    status = langfuse.connection_status()
    if not status["configured"]:
        st.caption("Langfuse is not configured: set " + ", ".join(status["missing"]) + ".")
        return
    st.caption(
        f"Scores named `human:{eval_set['name']}` and `<eval> v<version>`, the reason as comment. Pushing again"
        " updates the same scores."
    )
    if st.button("Push scores to Langfuse", key="matrix_push", disabled=not access.may("rate")):
        with st.spinner("Pushing scores…"):
            try:
                summary = matrix.push_to_langfuse(access, eval_set["id"], eval_set["name"], cols)
            except LangfuseError as exc:
                st.error(str(exc))
                return
        message = f"Pushed {summary.pushed}, skipped {summary.skipped}, failed {summary.failed}."
        (st.warning if summary.failed else st.success)(message)
        for error in summary.errors[:5]:
            st.caption(error)
