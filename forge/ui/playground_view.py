"""The Playground's provider panel and checks shown before Run, the estimate, bringing the results into view,
and its prompt-library controls (open a saved prompt, add library documents, save as a prompt)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from forge.library import contexts as library_docs
from forge.library import prompts as library
from forge.llm.base import LLMError, ProviderStatus, Request, RunResult
from forge.llm.catalog import Catalog, split_model
from forge.llm.prompts import ContextBlock, PromptSpec
from forge.llm.runner import estimate
from forge.store.access import Access
from forge.ui import widgets
from forge.ui.format import fmt_cost, fmt_count, fmt_ms
from forge.ui.widgets import md

RESULTS_KEY = "pg_results"  # the results container (Streamlit gives it the class st-key-pg_results)
TOKEN_COLUMNS = ("input tokens", "output tokens (max)", "context window")


def providers_panel(catalog: Catalog, statuses: list[ProviderStatus]) -> None:
    """Which providers are configured (never their keys), what to set for the others, the catalog's problems."""
    with st.expander("Providers", expanded=False):
        for s in statuses:
            mark = ":green[configured]" if s.configured else ":red[not configured]"
            where = f" ({s.source})" if s.source else ""
            st.markdown(f"**{s.label}** — {mark}{where}" + (f" · {s.base_url}" if s.base_url else ""))
            if s.how_to:
                st.caption(s.how_to)
        st.caption(f"Models and prices: {catalog.path} (FORGE_CATALOG to use another file)")
        for problem in catalog.problems:
            st.warning(problem)


def estimate_table(models: list[str], request: Request, catalog: Catalog, problems: dict[str, str]) -> None:
    """Tokens, cost and each model's problem (no key, too long for its window) before anything runs."""
    st.caption("Estimate before running (tokens are estimated; output assumed at max tokens or 1024)")
    rows = [
        {
            "model": e.model,
            "input tokens": e.input_tokens,
            "output tokens (max)": e.output_tokens,
            "context window": e.context_window,
            "cost (USD)": e.cost_usd,
            "problem": model_problem(e.model, problems) or e.problem or "",
        }
        for e in estimate(models, request, catalog)
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        column_config={
            "problem": st.column_config.TextColumn("problem", width="large"),
            **{c: st.column_config.NumberColumn(c, format="localized") for c in TOKEN_COLUMNS},
        },
    )


def unavailable(statuses: list[ProviderStatus]) -> dict[str, str]:
    """provider name -> why it cannot run and how to configure it, for providers without a key."""
    return {
        s.name: f"{s.label or s.name} is not configured: {s.how_to or 'see the Providers panel.'}"
        for s in statuses
        if not s.configured
    }


def model_problem(model: str, problems: dict[str, str]) -> str | None:
    """Why ``model`` cannot run right now (its provider has no key), else None."""
    try:
        provider, _ = split_model(model)
    except LLMError:
        return None  # the estimate reports a malformed name itself
    return problems.get(provider)


def model_label(name: str, model: str, problems: dict[str, str]) -> str:
    """The picker's label: marked when its provider is not configured."""
    provider = model.partition("/")[0]
    return f"{name} ({model})" + (
        f" — unavailable: set {_key_hint(problems[provider])}" if provider in problems else ""
    )


def _key_hint(problem: str) -> str:
    # "…: Set the OPENAI_API_KEY environment variable, …" -> "OPENAI_API_KEY"
    words = [w.strip(".,") for w in problem.split() if w.isupper() and "_" in w]
    return words[0] if words else "its key"


def scroll_into_view() -> None:
    """Scroll the page to the results container (it sits below the form, under the fold)."""
    widgets.scroll_into_view(RESULTS_KEY)


def metrics_line(r: RunResult) -> str:
    """Tokens, latency, first token and cost of a successful result."""
    if not r.ok:
        return ""
    tok = f"{fmt_count(r.input_tokens)} in / {fmt_count(r.output_tokens)} out" + (
        " (estimated)" if r.tokens_estimated else ""
    )
    cost = "cost unknown" if r.cost_usd is None else fmt_cost(r.cost_usd)
    ttft = f" · first token {fmt_ms(r.ttft_ms)}" if r.ttft_ms is not None else ""
    return f"{tok} · {fmt_ms(r.latency_ms)}{ttft} · {cost}"


def show_result(col, r: RunResult) -> None:
    """One model's result: its output and figures, or its error."""
    col.markdown(f"**{md(r.model)}**")
    if r.ok:
        col.text(r.output)
        col.caption(metrics_line(r))
    else:
        col.error(md(r.error, inline=False))


# ---------------------------------------------------------------- prompt library controls

OPEN_REQUEST = "pg_open_request"  # a prompt version id to fill the fields from on the next run (Prompts page)
OPENED = "pg_opened"  # the prompt version the fields came from (opened or just saved)
SAVED_BLOCKS = "pg_saved_blocks"  # the opened version's own blocks: [[name, text], ...]
LIB_DOCS = "pg_lib_docs"  # library documents added as context (ids)
SAVE_NOTICE = "pg_save_notice"
TYPED_BLOCK = "typed"  # the name of the typed context block


def open_version(access: Access, version_id: str, catalog_models: list[str]) -> None:
    """Fill the playground's fields from a saved prompt version (before its widgets are drawn, or in a callback)."""
    try:
        pv = library.get_by_id(access, version_id)
    except LookupError as exc:
        st.session_state[SAVE_NOTICE] = ("warning", str(exc))
        return
    state = st.session_state
    state["pg_models"] = [m for m in pv.models if m in catalog_models]
    state["pg_extra"] = ", ".join(m for m in pv.models if m not in catalog_models)
    state["pg_system"] = pv.system or ""
    state["pg_prompt"] = pv.template
    state["pg_temp"] = pv.params.get("temperature")
    state["pg_max"] = pv.params.get("max_tokens")
    state["pg_stream"] = bool(pv.params.get("stream", True))
    present = library_docs.existing_ids(access, pv.context_ids)
    state[LIB_DOCS] = [i for i in pv.context_ids if i in present]
    inline = [c for c in pv.context if not c.get("doc_id")]
    # A library document deleted since the save still runs as saved: its copy becomes a saved block.
    inline = [c for c in pv.context if c.get("doc_id") and c["doc_id"] not in present] + inline
    typed = inline[0]["text"] if inline and inline[0]["name"] == TYPED_BLOCK else ""
    state["pg_context"] = typed
    state[SAVED_BLOCKS] = [[c["name"], c["text"]] for c in (inline[1:] if typed else inline)]
    state["pg_saved_keep"] = [c[0] for c in state[SAVED_BLOCKS]]
    state["pg_prompt_name"] = pv.name
    state[OPENED] = pv.id
    state[SAVE_NOTICE] = ("info", f"Opened {pv.label}.")


def apply_open_request(access: Access, catalog_models: list[str]) -> None:
    """Open the version the Prompts page asked for (once)."""
    version_id = st.session_state.pop(OPEN_REQUEST, None)
    if version_id:
        open_version(access, version_id, catalog_models)


def open_prompt_picker(access: Access, catalog_models: list[str]) -> None:
    """ "Open prompt": pick a saved prompt and version and fill the fields from it."""
    rows = library.list_prompts(access)
    with st.expander("Open a saved prompt", icon=":material/folder_open:", expanded=False):
        if not rows:
            st.caption("No saved prompts yet: write one below and use **Save as prompt**.")
            return
        c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
        name = c1.selectbox("Prompt", [r["name"] for r in rows], key="pg_open_name")
        found = {v.version: v for v in library.versions(access, name)}
        number = c2.selectbox(
            "Version",
            sorted(found, reverse=True),
            format_func=lambda n: f"v{n} · {found[n].author} · {found[n].created_at:%Y-%m-%d %H:%M}",
            key="pg_open_version",
        )
        c3.button("Open", key="pg_open", on_click=open_version, args=(access, found[number].id, catalog_models))


def library_context(access: Access) -> tuple[list[str], list[ContextBlock]]:
    """ "Add from library": pick documents of the context library; returns their ids and blocks (full text)."""
    docs = library_docs.search(access, limit=1000)
    if not docs:
        st.caption("The context library is empty: add documents on the Prompts page.")
        return [], []
    by_id = {d.id: d for d in docs}
    st.session_state[LIB_DOCS] = [i for i in st.session_state.get(LIB_DOCS, []) if i in by_id]
    ids = st.multiselect(
        "Add from library",
        list(by_id),
        format_func=lambda i: by_id[i].name + (f" [{', '.join(by_id[i].tags)}]" if by_id[i].tags else ""),
        key=LIB_DOCS,
        help="Reusable context documents (Prompts page → Context library); type to search by name or tag.",
        placeholder="Context documents from the library",
    )
    return ids, [d.block() for d in library_docs.get_many(access, ids)]


def saved_context() -> list[ContextBlock]:
    """The blocks saved with the opened prompt (uploaded files, deleted documents), kept unless removed."""
    saved = st.session_state.get(SAVED_BLOCKS) or []
    if not saved:
        return []
    names = [n for n, _ in saved]
    if "pg_saved_keep" not in st.session_state:  # the widget's state is dropped when another page ran
        st.session_state["pg_saved_keep"] = names
    keep = st.multiselect("Context saved with the prompt", names, key="pg_saved_keep")
    return [ContextBlock(n, t) for n, t in saved if n in keep]


def recorded_version(access: Access, spec: PromptSpec) -> str | None:
    """The opened (or saved) prompt version's id when ``spec`` runs it as saved, with a caption saying so."""
    version_id = st.session_state.get(OPENED)
    if not version_id:
        return None
    try:
        pv = library.get_by_id(access, version_id)
    except LookupError:
        return None
    changed = library.changed_documents(access, pv)
    if changed:
        st.caption(f"Edited in the library since {md(pv.label)} was saved: {md(', '.join(changed))}.")
    if pv.matches(spec):
        st.caption(f"Prompt :blue-badge[{md(pv.label)}] — runs are recorded as this version.")
        return pv.id
    st.caption(f"Changed since {md(pv.label)}: save it to make a new version (runs are not recorded as one).")
    return None


def save_prompt(access: Access, spec: PromptSpec, n_library: int, models: list[str], context_ids: list[str]) -> None:
    """ "Save as prompt": a name and a button; a changed prompt becomes a new version, an unchanged one does not."""
    notice = st.session_state.pop(SAVE_NOTICE, None)
    if notice:
        getattr(st, notice[0])(md(notice[1]))
    if not access.may("edit"):
        return
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    name = c1.text_input("Prompt name", key="pg_prompt_name", placeholder="e.g. support-summary")
    if not c2.button("Save as prompt", key="pg_save", disabled=not spec.template.strip()):
        return
    inline = PromptSpec(**{**spec.__dict__, "context": spec.context[n_library:]})
    try:
        pv, created = library.save(access, name, inline, models, context_ids)
    except (ValueError, LookupError) as exc:
        st.error(md(exc))
        return
    st.session_state[OPENED] = pv.id
    st.session_state[SAVE_NOTICE] = (
        ("success", f"Saved {pv.label}.") if created else ("info", f"No change since {pv.label}: no new version saved.")
    )
    st.rerun()
