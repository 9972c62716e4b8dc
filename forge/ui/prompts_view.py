"""The Prompts page's pieces: saved prompts (versions, diff, roll back, open in the Playground) and the
context library (search, add typed or uploaded documents, edit, tags)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from forge.library import contexts as library_docs
from forge.library import prompts as library
from forge.library.prompts import PromptDiff, PromptVersion
from forge.store.access import Access
from forge.ui import playground_view
from forge.ui.widgets import md, page_link_for, show_notice

NOTICE = "prompts_notice"  # an action's outcome, shown after the page reruns
LIB_NOTICE = "lib_notice"
UPLOAD_TYPES = list(library_docs.FILE_KINDS) + ["markdown"]

HELP = (
    "Saved prompts of this workspace and the context library they draw on. **Save as prompt** on the"
    " Playground keeps a prompt (system prompt, template with `{{variables}}`, parameters, models and context)"
    " under a name; each save of a changed prompt is a new version with its author and time, an unchanged save"
    " makes none. Here you list them, compare two versions, roll back (a new version equal to an old one) and"
    " open one in the Playground; a run of a saved prompt records its version (Runs page).\n\n"
    "The **context library** keeps reusable documents: typed text or txt, md, csv, json and pdf files (their"
    f" text), up to {library_docs.MAX_DOCUMENT_BYTES / 1e6:g} MB each, with tags. Search by name, tag or text;"
    " add them to a prompt with **Add from library** on the Playground. A prompt version keeps the text of its"
    " documents as saved: editing a document changes the next saved version, never an old one."
)


# ---------------------------------------------------------------- prompts


def prompts_section(access: Access) -> None:
    """The saved prompts: table, one prompt's versions, a version in full, diff, roll back, open."""
    show_notice(NOTICE)
    rows = library.list_prompts(access)
    if not rows:
        st.info("No saved prompts yet. Write a prompt on the Playground and use **Save as prompt**.")
        page_link_for(access.user, "pages/playground.py", "Go to Playground", ":material/science:")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {"prompt": r["name"], "latest": f"v{r['version']}", "by": r["author"], "updated (UTC)": r["updated_at"]}
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
        key="prompts_table",
    )
    c1, c2 = st.columns([3, 1])
    name = c1.selectbox("Prompt", [r["name"] for r in rows], key="prompts_pick")
    found = library.versions(access, name)
    latest = found[-1]
    numbers = [v.version for v in reversed(found)]
    number = c2.selectbox("Version", numbers, format_func=lambda n: f"v{n}", key="prompts_version")
    st.dataframe(versions_table(found), hide_index=True, width="stretch", key="prompts_versions")
    pv = found[number - 1]
    show_version(access, pv)
    actions(access, pv, latest)
    if len(found) > 1:
        diff_section(found)


def versions_table(found: list[PromptVersion]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "version": f"v{v.version}",
                "by": v.author,
                "saved (UTC)": v.created_at,
                "note": v.note or "",
                "models": ", ".join(v.models),
                "context": ", ".join(c["name"] for c in v.context),
                "template": " ".join(v.template.split())[:80],
            }
            for v in reversed(found)
        ]
    )


def show_version(access: Access, pv: PromptVersion) -> None:
    """One version in full: system prompt, template, parameters, models, context."""
    st.markdown(f"**{md(pv.label)}** · saved by {md(pv.author)} · {pv.created_at:%Y-%m-%d %H:%M:%S} UTC")
    if pv.system:
        st.caption("System prompt")
        st.code(pv.system, language=None, wrap_lines=True)
    st.caption("Template")
    st.code(pv.template, language=None, wrap_lines=True)
    st.caption(
        "Parameters: "
        + md(json.dumps(pv.params))
        + " · Models: "
        + (md(", ".join(pv.models)) if pv.models else "none chosen")
    )
    if pv.context:
        st.caption(
            "Context (as saved): "
            + md(", ".join(c["name"] + (" (library)" if c.get("doc_id") else "") for c in pv.context))
        )
    changed = library.changed_documents(access, pv)
    if changed:
        st.caption(
            f"Edited or removed in the library since: {md(', '.join(changed))} — this version keeps the text"
            " it was saved with; save it again to use the new text."
        )


def actions(access: Access, pv: PromptVersion, latest: PromptVersion) -> None:
    """Open the version in the Playground; roll back to it (a new version) when it is not the latest."""
    c1, c2 = st.columns(2)
    if access.may("run") and c1.button("Open in playground", key="prompts_open", icon=":material/science:"):
        st.session_state[playground_view.OPEN_REQUEST] = pv.id
        st.switch_page("pages/playground.py")
    if access.may("edit") and pv.id != latest.id:
        if c2.button(f"Roll back to v{pv.version}", key="prompts_rollback", icon=":material/undo:"):
            try:
                new, created = library.rollback(access, pv.name, pv.version)
            except (ValueError, LookupError) as exc:
                st.error(md(exc))
                return
            st.session_state[NOTICE] = (
                f"Rolled back: {md(new.label)} is now equal to v{pv.version}."
                if created
                else f"v{pv.version} is already the same as the latest version: nothing to roll back."
            )
            st.session_state.pop("prompts_version", None)  # show the new latest version
            st.rerun()


def diff_section(found: list[PromptVersion]) -> None:
    """Pick two versions and show what changed."""
    st.subheader("Compare versions")
    numbers = [v.version for v in found]
    c1, c2 = st.columns(2)
    old = c1.selectbox("From", numbers, index=len(numbers) - 2, format_func=lambda n: f"v{n}", key="prompts_from")
    new = c2.selectbox("To", numbers, index=len(numbers) - 1, format_func=lambda n: f"v{n}", key="prompts_to")
    show_diff(library.diff(found[old - 1], found[new - 1]))


def show_diff(d: PromptDiff) -> None:
    """Text diffs of the system prompt and template; parameter, model and context changes."""
    if d.unchanged:
        st.info(f"v{d.old} and v{d.new} have the same content.")
        return
    for label, lines in (("System prompt", d.system), ("Template", d.template)):
        if lines:
            st.caption(label)
            st.code("\n".join(lines), language="diff")
    changes = [{"what": k, f"v{d.old}": _value(a), f"v{d.new}": _value(b)} for k, a, b in d.params]
    changes += [{"what": "model", f"v{d.old}": "", f"v{d.new}": m} for m in d.models_added]
    changes += [{"what": "model", f"v{d.old}": m, f"v{d.new}": ""} for m in d.models_removed]
    changes += [{"what": f"context: {name}", f"v{d.old}": "", f"v{d.new}": how} for name, how in d.context]
    if changes:
        st.dataframe(pd.DataFrame(changes), hide_index=True, key="prompts_changes")


def _value(v: object) -> str:
    return "default" if v is None else str(v)


# ---------------------------------------------------------------- context library


def library_section(access: Access) -> None:
    """Search the context library; add, edit and remove documents (edit rights)."""
    show_notice(LIB_NOTICE)
    if access.may("edit"):
        add_documents(access)
    c1, c2 = st.columns([3, 2])
    query = c1.text_input("Search name, tag or text", key="lib_query")
    wanted = c2.multiselect("Tags", library_docs.tags(access), key="lib_tags")
    docs = library_docs.search(access, query, wanted)
    if not docs:
        if query or wanted:
            st.info("No document matches: loosen the search.")
        else:
            st.info("The context library is empty. Add typed text or upload txt, md, csv, json or pdf files above.")
        return
    st.dataframe(docs_table(docs), hide_index=True, width="stretch", key="lib_table")
    if access.may("edit"):
        edit_document(access, docs)


def docs_table(docs: list[library_docs.ContextDoc]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "name": d.name,
                "tags": ", ".join(d.tags),
                "kind": d.kind,
                "characters": d.chars,
                "updated (UTC)": d.updated_at,
                "by": d.updated_by,
                "text": " ".join(d.text.split())[:120],
            }
            for d in docs
        ]
    )


def add_documents(access: Access) -> None:
    """Typed text or uploaded files (each file a document named after it), with tags."""
    with st.expander("Add documents", icon=":material/add:", expanded=False):
        typed, upload = st.tabs(["Type text", "Upload files"])
        with typed, st.form("lib_add_text", clear_on_submit=True):
            name = st.text_input("Name", key="lib_new_name")
            tags = st.text_input("Tags (comma-separated)", key="lib_new_tags")
            text = st.text_area("Text", key="lib_new_text", height=150)
            if st.form_submit_button("Save document"):
                _act(lambda: library_docs.add_text(access, name, text, tags), f"Saved document '{name.strip()}'.")
        with upload:
            files = st.file_uploader(
                f"Files (txt, md, csv, json, pdf; up to {library_docs.MAX_DOCUMENT_BYTES / 1e6:g} MB each)",
                type=UPLOAD_TYPES,
                accept_multiple_files=True,
                key="lib_files",
            )
            file_tags = st.text_input("Tags for these files (comma-separated)", key="lib_file_tags")
            if st.button("Add files", key="lib_add_files", disabled=not files):
                added, errors = [], []
                bar = st.progress(0.0)
                for i, f in enumerate(files):
                    bar.progress(i / len(files), text=f"Reading {md(f.name)} ({i + 1} of {len(files)})")
                    try:
                        added.append(library_docs.add_file(access, f.name, f.getvalue(), tags=file_tags).name)
                    except (ValueError, LookupError) as exc:
                        errors.append(str(exc))
                bar.empty()
                for e in errors:
                    st.error(md(e))
                if added:
                    st.success(f"Added {len(added)} document{'s' if len(added) != 1 else ''}: {md(', '.join(added))}")


def edit_document(access: Access, docs: list[library_docs.ContextDoc]) -> None:
    """Rename, retag, change or remove one document (saved prompt versions keep their copy)."""
    by_id = {d.id: d for d in docs}
    with st.expander("Edit a document", icon=":material/edit:", expanded=False):
        doc_id = st.selectbox("Document", list(by_id), format_func=lambda i: by_id[i].name, key="lib_edit_pick")
        doc = library_docs.get(access, doc_id)
        with st.form(f"lib_edit_{doc.id}"):
            name = st.text_input("Name", value=doc.name)
            tags = st.text_input("Tags (comma-separated)", value=", ".join(doc.tags))
            text = st.text_area("Text", value=doc.text, height=200)
            save = st.form_submit_button("Save changes")
            remove = st.form_submit_button("Remove from library")
        if save:
            _act(lambda: library_docs.update(access, doc.id, name=name, text=text, tags=tags), "Document saved.")
        if remove:
            _act(lambda: library_docs.delete(access, doc.id), f"Removed '{doc.name}' (saved prompts keep their copy).")


def _act(fn, success: str) -> None:
    """Run a library change; on success leave ``success`` for the next run, else show the reason."""
    try:
        fn()
    except (ValueError, LookupError) as exc:
        st.error(md(exc))
        return
    st.session_state[LIB_NOTICE] = md(success)
    st.rerun()
