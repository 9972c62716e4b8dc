"""The Playground's provider panel and checks shown before Run, the estimate, and bringing the results into view."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from forge.config import redact_url
from forge.llm.base import LLMError, ProviderStatus, Request, RunResult
from forge.llm.catalog import Catalog, split_model
from forge.llm.prompts import PromptSpec
from forge.llm.runner import estimate, run_input_problems
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
            url = redact_url(s.base_url)  # a base URL may carry user:password or ?api_key=
            st.markdown(f"**{s.label}** — {mark}{where}" + (f" · {url}" if url else ""))
            if s.how_to:
                st.caption(s.how_to)
        st.caption(f"Models and prices: {catalog.path} (FORGE_CATALOG to use another file)")
        for problem in catalog.problems:
            st.warning(problem)


def input_problems(models: list[str], spec: PromptSpec, catalog: Catalog) -> bool:
    """Show why the run cannot start (the check `forge run` makes: model names, temperature, max tokens)."""
    problems = run_input_problems(models, spec.temperature, spec.max_tokens, catalog) if models else []
    for problem in problems:
        st.error(md(problem), icon=":material/block:")
    return bool(problems)


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
