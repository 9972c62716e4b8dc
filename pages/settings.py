"""Settings: the Langfuse connection (status and a test), its scheduled sync, and your API tokens; keys never shown."""

import streamlit as st

from forge.config import redact, redact_url
from forge.traces import langfuse
from forge.ui import state
from forge.ui.sync_view import render_sync
from forge.ui.tokens_view import render_tokens
from forge.ui.widgets import md, page_help

access = state.guard("read")
st.title("Settings")
page_help(
    "**Langfuse**: whether Forge can import traces from Langfuse, and a connection test. "
    "Keys come from the environment or `.streamlit/secrets.toml`, never from the database.\n\n"
    "**Scheduled Langfuse sync**: import new Langfuse traces into this workspace every N minutes, "
    "and the last run's result.\n\n"
    "**API tokens**: tokens for the JSON API (`/api/v1`) and for running the `forge` command "
    "against this server (`FORGE_URL`, `FORGE_TOKEN`). A token is shown once; revoke it when in doubt."
)

st.subheader("Langfuse")
status = langfuse.connection_status()
if status["configured"]:
    st.success(
        f"Configured: host **{redact_url(status['host'])}**, public and secret keys set.", icon=":material/link:"
    )
else:
    have = [n for n in ("LANGFUSE_HOST", "LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY") if n not in status["missing"]]
    st.warning(
        f"Not configured: missing {', '.join(status['missing'])}."
        + (f" Already set: {', '.join(have)}." if have else ""),
        icon=":material/link_off:",
    )
    st.markdown(
        "Set them as environment variables before starting Forge, or in `.streamlit/secrets.toml` "
        "(never in the database). `LANGFUSE_BASE_URL` works as well as `LANGFUSE_HOST`."
    )
    st.code(
        'LANGFUSE_HOST = "https://cloud.langfuse.com"   # or your self-hosted URL\n'
        'LANGFUSE_PUBLIC_KEY = "pk-lf-..."\n'
        'LANGFUSE_SECRET_KEY = "sk-lf-..."',
        language="toml",
    )
    st.caption("Restart is not needed: Forge reads these on every use.")

if st.button("Test connection", key="settings_test_langfuse"):
    with st.spinner("Asking Langfuse…"):
        ok, message = langfuse.test_connection()
    (st.success if ok else st.error)(md(redact(message), inline=False))

st.divider()
render_sync(access.db, access.user, access.workspace.id, status["configured"])

st.divider()
render_tokens(access.db, access.user)
