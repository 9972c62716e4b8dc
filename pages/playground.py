"""Playground: one prompt, several models, outputs streaming in side by side; every run kept."""

import streamlit as st

from forge.llm.catalog import load_catalog
from forge.llm.playground import LiveRun
from forge.llm.prompts import ContextBlock, PromptError, PromptSpec, context_from_bytes, variables_in
from forge.llm.registry import provider_statuses
from forge.ui import playground_view
from forge.ui.state import guard
from forge.ui.widgets import md, page_help

LAST = "pg_last_results"  # session key: the last run's results, shown until the next run

access = guard("run")
db, user, ws = access.db, access.user, access.workspace
st.title("Playground")
page_help(
    "Run one prompt on several models at once and compare the answers, tokens, latency and cost side"
    " by side. `{{name}}` in a prompt makes a variable box; context (typed or files) goes where"
    " `{{context}}` is, else first. The estimate shows tokens, cost and problems before you run."
    " `offline/echo` needs no key. Every run is kept on the Runs page and as a trace."
    " **Save as prompt** keeps the prompt as a new version on the Prompts page; **Open a saved prompt** and"
    " **Add from library** bring saved prompts and context documents back; a run of a saved prompt, unchanged,"
    " is recorded as that version."
    " Ctrl+Enter in a text box applies it."
)
catalog = load_catalog()

with st.spinner("Loading providers…"):  # the first view in a process imports the SDKs (~2 s)
    statuses = provider_statuses(catalog)
playground_view.providers_panel(catalog, statuses)

names = catalog.model_names()
playground_view.apply_open_request(access, names)  # "Open in playground" on the Prompts page
playground_view.open_prompt_picker(access, names)
unavailable = playground_view.unavailable(statuses)
if unavailable:
    st.caption("Models of a provider without a key are marked unavailable; the Providers panel says what to set.")
chosen = st.multiselect(
    "Models",
    names,
    default=["offline/echo"] if "offline/echo" in names else [],
    format_func=lambda m: playground_view.model_label(catalog.get(m).name, m, unavailable),
    key="pg_models",
)
extra = st.text_input(
    "Other models (provider/model, comma-separated)",
    key="pg_extra",
    help="Models not in the catalog still run; their price shows as unknown.",
)
models = chosen + [m.strip() for m in extra.split(",") if m.strip()]

system = st.text_area("System prompt", key="pg_system", height=80)
template = st.text_area(
    "Prompt",
    key="pg_prompt",
    height=150,
    help="Use {{name}} for variables and {{context}} to place the context (else it goes first).",
)
variables = {name: st.text_input(f"{{{{{name}}}}}", key=f"pg_var_{name}") for name in variables_in(template + system)}
variables = {k: v for k, v in variables.items() if v}  # an empty box is a value still to give
library_ids, library_blocks = playground_view.library_context(access)
typed = st.text_area("Context (typed)", key="pg_context", height=80)
saved_blocks = playground_view.saved_context()
files = st.file_uploader("Context files", accept_multiple_files=True, key="pg_files")
c1, c2, c3 = st.columns(3)
temperature = c1.number_input("Temperature", 0.0, 2.0, value=None, step=0.1, key="pg_temp", placeholder="model default")
max_tokens = c2.number_input("Max tokens", 1, 1_000_000, value=None, step=64, key="pg_max", placeholder="model default")
stream = c3.toggle("Stream", value=True, key="pg_stream")

blocks = library_blocks + ([ContextBlock(playground_view.TYPED_BLOCK, typed)] if typed.strip() else []) + saved_blocks
problems = []
for f in files or []:
    try:
        blocks.append(context_from_bytes(f.name, f.getvalue()))
    except PromptError as exc:
        problems.append(str(exc))
spec = PromptSpec(
    template, variables, blocks, system or None, temperature, int(max_tokens) if max_tokens else None, stream
)
for p in problems:
    st.warning(p)

request = None
if template.strip() and models:
    try:
        request = spec.render()
    except PromptError as exc:
        st.info(str(exc))
if request is not None:
    playground_view.estimate_table(models, request, catalog, unavailable)
version_id = playground_view.recorded_version(access, spec)
playground_view.save_prompt(access, spec, len(library_blocks), models, library_ids)

run = st.button("Run", type="primary", disabled=request is None, key="pg_run")


results_area = st.container(key=playground_view.RESULTS_KEY)
if run and request is not None:
    with results_area:
        playground_view.scroll_into_view()  # the results start below the fold at 1400x900
        cols = st.columns(len(models))
        boxes = [c.empty() for c in cols]
    texts = [""] * len(models)
    for i, m in enumerate(models):
        boxes[i].markdown(f"**{md(m)}** — waiting…")
    live = LiveRun(access, models, spec, prompt_version_id=version_id)
    for kind, a, b in live.events():
        if kind == "delta":
            texts[a] += b
            boxes[a].text(f"{models[a]}\n\n{texts[a]}")
        elif kind == "result":
            with boxes[a].container():
                playground_view.show_result(st, b)
        elif kind == "done":
            st.session_state[LAST] = a.results
            n = len(a.run_ids)
            results_area.success(f"Saved {n} run{'s' if n != 1 else ''}: see the Runs page.")
        else:
            results_area.error(md(a))
elif st.session_state.get(LAST):
    results = st.session_state[LAST]
    for col, r in zip(results_area.columns(len(results)), results, strict=True):
        playground_view.show_result(col, r)
