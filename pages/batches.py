"""Batch runs: a saved prompt version over a dataset on several models, as a job; judged by an eval set's evals."""

import streamlit as st

from forge.ui import batch_tabs
from forge.ui import batch_view as view
from forge.ui.state import guard
from forge.ui.widgets import page_help, show_notice

access = guard("read")
st.title("Batch runs")
page_help(
    "Run a saved prompt version over every row of a dataset on several models at once, as a background job"
    " with progress and Cancel. Before it starts you see the estimated cost and may set a spend limit: the"
    " batch stops cleanly before a call could pass it and keeps what ran. Every output is kept as a run and"
    " a playground trace (rate them on the Review page). Judge a batch with an eval set's kept evals (run in"
    " the sandbox) to compare models: pass rates with 95 % intervals, cost and latency per model, and the"
    " outputs side by side with their verdicts and differences. From the command line:"
    " `forge run --prompt-name NAME --dataset NAME --model M --eval-set NAME`."
)
show_notice(view.NOTICE)
# A key keeps the open tab when a notice above it comes or goes (Judge on Results would else jump to New batch).
new_tab, results_tab = st.tabs(["New batch", "Results"], key="batches_tabs")

with new_tab:
    batch_tabs.new_batch(access)
with results_tab:
    batch_tabs.results(access)
