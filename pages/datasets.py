"""Datasets: named tables of variable rows to run a saved prompt over (upload, typed grid, or traces), versioned."""

import streamlit as st

from forge.library import datasets
from forge.traces import query
from forge.ui import datasets_view as view
from forge.ui.state import guard
from forge.ui.widgets import md, page_help, page_link_for, show_notice

access = guard("read")
db, user, ws = access.db, access.user, access.workspace
st.title("Datasets")
page_help(
    "A dataset is a table of inputs for a saved prompt: one column per template variable (`{{question}}` ->"
    " a `question` column), plus an optional `expected` output and `notes`. Make one from a CSV or JSONL file"
    " (bad rows are named by line and column; the valid rows are kept), by typing rows in a grid, or from"
    " imported traces. Every change is a new version with its author and time; roll back any time. Run a"
    " prompt over a dataset on several models on the **Batch runs** page, or with"
    " `forge run --prompt-name NAME --dataset NAME --model M`."
)
show_notice(view.NOTICE)
can_edit = access.may("edit")
existing = datasets.list_datasets(access)
names = [d["name"] for d in existing]

open_tab, upload_tab, grid_tab, traces_tab = st.tabs(["Open", "Upload a file", "Type rows", "From traces"])

with open_tab:
    if not existing:
        st.info("No datasets yet in this workspace: upload a CSV/JSONL file, type rows, or build one from traces.")
    else:
        if st.session_state.get("datasets_pick") not in names:
            st.session_state["datasets_pick"] = names[0]
        name = st.selectbox("Dataset", names, key="datasets_pick")
        versions = datasets.versions(access, name)
        current = next(d["current_version"] for d in existing if d["name"] == name)
        picked = st.selectbox(
            "Version",
            [v["version"] for v in versions],
            format_func=lambda v: f"v{v}" + (" (current)" if v == current else ""),
            key=f"datasets_version_{name}",
        )
        version = datasets.open_dataset(access, name, picked)
        st.caption(
            f"{md(version.label)} · {len(version.rows):,} rows · saved by {md(version.author or '?')}"
            f" on {version.created_at:%Y-%m-%d %H:%M} UTC" + (f" · {md(version.note)}" if version.note else "")
        )
        if can_edit and picked == current:
            st.caption("Edit the rows below and save: the change becomes a new version.")
            edited = view.grid_editor(version.columns, view.records(version.rows), key=f"datasets_edit_{version.id}")
            view.save_button(access, name, view.parse_grid(edited, version.columns), key="datasets_save_edit")
        else:
            st.dataframe(view.records(version.rows), hide_index=True, width="stretch")
            if can_edit and st.button(f"Roll back to v{picked}", key="datasets_rollback", icon=":material/undo:"):
                back = datasets.roll_back(access, name, picked)
                st.session_state[view.NOTICE] = f"Rolled back: {md(back.label)} has the rows of v{picked}."
                st.rerun()
        with st.expander(f"Versions ({len(versions)})"):
            st.dataframe(view.versions_frame(versions, current), hide_index=True, width="stretch")

with upload_tab:
    upload = st.file_uploader(
        "CSV (a header row naming the columns) or JSONL (one object per line)",
        type=["csv", "jsonl", "json", "ndjson"],
        key="datasets_upload",
    )
    if upload is not None:
        try:
            parsed = datasets.parse_upload(upload.name, upload.getvalue())
        except datasets.DatasetError as exc:
            st.error(md(exc))
        else:
            view.show_parsed(parsed, upload.name)
            name = st.text_input("Dataset name", value=view.default_name(upload.name), key="datasets_upload_name")
            if name.strip() in names:
                st.caption(f"“{md(name)}” exists: saving adds a new version of it.")
            view.save_button(access, name, parsed, key="datasets_upload_save")

with grid_tab:
    cols_text = st.text_input("Variables (columns), comma-separated", value="question", key="datasets_grid_cols")
    columns = [c.strip() for c in cols_text.split(",") if c.strip()]
    edited = view.grid_editor(columns, [], key=f"datasets_grid_{'_'.join(columns)}")
    parsed = view.parse_grid(edited, columns)
    for error in parsed.errors:
        st.warning(md(str(error)))
    name = st.text_input("Dataset name", key="datasets_grid_name")
    view.save_button(access, name, parsed, key="datasets_grid_save")

with traces_tab:
    facets = query.facet_values(access)
    c1, c2 = st.columns(2)
    text = c1.text_input("Traces containing", key="datasets_tr_text", placeholder="e.g. refund")
    sources = c2.multiselect("Source", facets.get("sources", []), key="datasets_tr_sources")
    ids, total = view.trace_fields(access, text, sources)
    if not total:
        st.info("No trace matches: import traces first, or loosen the filter.")
        page_link_for(user, "pages/import.py", "Go to Import", ":material/upload:")
    else:
        st.caption(f"{total:,} trace(s) match; a dataset takes the newest {min(total, view.TRACE_LIMIT):,}.")
        c1, c2, c3 = st.columns(3)
        var = c1.text_input("Variable", value="question", key="datasets_tr_var")
        field = c2.selectbox(
            "…from the trace's", [*datasets.TRACE_FIELDS, "input.KEY", "metadata.KEY"], key="datasets_tr_field"
        )
        if field.endswith(".KEY"):
            key_name = c2.text_input("Key", key="datasets_tr_key", placeholder="e.g. question")
            field = field.replace("KEY", key_name.strip())
        expected = c3.selectbox("Expected output from", ["(none)", "output_text"], key="datasets_tr_expected")
        try:
            parsed = datasets.from_traces(
                access, ids, {var.strip(): field}, expected=None if expected == "(none)" else expected
            )
        except datasets.DatasetError as exc:
            st.error(md(exc))
        else:
            view.show_parsed(parsed, f"{len(ids):,} traces")
            name = st.text_input("Dataset name", key="datasets_tr_name")
            view.save_button(access, name, parsed, key="datasets_tr_save")
