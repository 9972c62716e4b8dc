"""Settings: the Langfuse connection (status and a test); keys are never shown."""

import streamlit as st

from forge.traces import langfuse
from forge.ui import state

state.guard("read")
st.title("Settings")

st.subheader("Langfuse")
status = langfuse.connection_status()
if status["configured"]:
    st.success(f"Configured: host **{status['host']}**, public and secret keys set.", icon=":material/link:")
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
    (st.success if ok else st.error)(message)
