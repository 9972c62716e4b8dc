"""Prompts: saved prompt versions (diff, roll back, open in the Playground) and the context library."""

import streamlit as st

from forge.ui import prompts_view
from forge.ui.state import guard
from forge.ui.widgets import page_help

access = guard("read")
st.title("Prompts")
page_help(prompts_view.HELP)
saved, documents = st.tabs(["Saved prompts", "Context library"])
with saved:
    prompts_view.prompts_section(access)
with documents:
    prompts_view.library_section(access)
