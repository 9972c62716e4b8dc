"""The Datasets page's pieces: the upload preview with its row errors, the rows grid, versions, traces to rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from forge.library import datasets
from forge.store.access import Access
from forge.traces import query
from forge.ui.format import fmt_count
from forge.ui.widgets import md

NOTICE = "datasets_notice"
TRACE_LIMIT = 1000  # traces a dataset is built from at once


def errors_frame(errors: list[datasets.RowError]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"line": e.line if e.line is not None else "", "column": e.column or "", "problem": e.message} for e in errors]
    )


def show_parsed(parsed: datasets.Parsed, what: str) -> None:
    """How many rows are valid, the bad ones named by line and column, and a preview of the valid ones."""
    n_bad = len({e.line for e in parsed.errors})
    st.markdown(
        f"**{fmt_count(len(parsed.rows))}** valid row(s) in {md(what)}; columns: "
        + ", ".join(f"`{md(c)}`" for c in parsed.columns)
    )
    if parsed.errors:
        st.warning(
            f"{fmt_count(len(parsed.errors))} problem(s) on {fmt_count(n_bad)} row(s): those rows are left out,"
            " the valid rows are kept."
        )
        st.dataframe(errors_frame(parsed.errors), hide_index=True, width="stretch")
    if parsed.rows:
        st.dataframe(pd.DataFrame(records(parsed.rows)).head(200), hide_index=True, width="stretch")


def records(rows: list[datasets.Row]) -> list[dict]:
    return [{**r.vars, datasets.EXPECTED: r.expected or "", datasets.NOTES: r.notes or ""} for r in rows]


def save_button(access: Access, name: str, parsed: datasets.Parsed, key: str) -> None:
    """Save the valid rows as a new version of ``name``; the outcome is shown after the rerun."""
    disabled = not parsed.rows or not name.strip() or not access.may("edit")
    if st.button(
        f"Save {fmt_count(len(parsed.rows))} row(s) as “{md(name)}”", key=key, type="primary", disabled=disabled
    ):
        try:
            saved = datasets.save(access, name, parsed)
        except (datasets.DatasetError, LookupError) as exc:
            st.error(md(exc))
            return
        st.session_state[NOTICE] = f"Saved {md(saved.label)} ({fmt_count(len(saved.rows))} rows)."
        st.session_state["datasets_pick"] = saved.name
        st.rerun()


def default_name(filename: str) -> str:
    return Path(filename).stem.replace("_", " ")


def grid_editor(columns: list[str], rows: list[dict], key: str) -> pd.DataFrame:
    """An editable grid: one column per variable, then expected and notes; rows can be added and deleted."""
    cols = [*columns, datasets.EXPECTED, datasets.NOTES]
    frame = pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame({c: pd.Series(dtype="str") for c in cols})
    return st.data_editor(
        frame.astype("string"),
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        key=key,
        column_config={c: st.column_config.TextColumn(c) for c in cols},
    )


def parse_grid(edited: pd.DataFrame, columns: list[str]) -> datasets.Parsed:
    recs = [{k: (None if pd.isna(v) else str(v)) for k, v in rec.items()} for rec in edited.to_dict("records")]
    return datasets.from_records(recs, columns)


def versions_frame(versions: list[dict], current: int | None) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "version": f"v{v['version']}" + (" (current)" if v["version"] == current else ""),
                "rows": v["n_rows"],
                "columns": ", ".join(v["columns"] or []),
                "source": v["source"] or "",
                "note": v["note"] or "",
                "author": v["author"] or "",
                "saved (UTC)": v["created_at"],
            }
            for v in versions
        ]
    )


def trace_fields(access: Access, text: str | None, sources: list[str]) -> tuple[list[str], int]:
    """Ids of the traces matching the filters (at most TRACE_LIMIT, newest first) and how many match."""
    filters = query.TraceFilters(text=text or None, sources=tuple(sources))
    page = query.list_traces(access, filters, page=1, page_size=TRACE_LIMIT)
    return [r["id"] for r in page.rows], page.total
