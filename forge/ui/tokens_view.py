"""The Settings page's API tokens: create (shown once), list, revoke."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from forge import auth, tokens
from forge.store import Database
from forge.ui.widgets import md, run_action, show_notice

_NOTICE = "tokens_notice"


def _base_url() -> str:
    """This server's address as the browser sees it (for the examples)."""
    url = getattr(st.context, "url", None) or "http://localhost:8501"
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.split('/', 1)[0]}" if sep else "http://localhost:8501"


def _expiry(token: dict) -> str:
    if token["expires_at"] is None:
        return "never"
    return f"{token['expires_at']:%Y-%m-%d %H:%M}" + (" (expired)" if token["expired"] else "")


def render_tokens(db: Database, user: auth.User) -> None:
    """Create, list and revoke the logged-in user's API tokens."""
    st.subheader("API tokens")
    st.caption(
        "A token lets a script, CI or the `forge` command act as you through the JSON API: it sees exactly "
        "the workspaces you see, with your role. It is shown once; Forge keeps only a hash of it."
    )
    show_notice(_NOTICE)
    with st.form("create_token", clear_on_submit=True):
        name = st.text_input("Token name", placeholder="e.g. CI, my laptop", max_chars=tokens.MAX_NAME)
        days = st.number_input(
            "Expires in N days (0 = never)",
            min_value=0,
            max_value=tokens.MAX_EXPIRY_DAYS,
            value=0,
            step=1,
            help="After that the token is refused (401); 0 makes a token that lasts until you revoke it.",
        )
        created = st.form_submit_button("Create token", icon=":material/key:")
    if created:
        try:
            token, row = tokens.create_token(db, user, name, int(days) or None)
        except auth.AuthError as exc:
            st.error(str(exc))
        else:
            until = f" It expires on {row['expires_at']:%Y-%m-%d %H:%M} UTC." if row["expires_at"] else ""
            st.success(f"Token **{md(name.strip())}** created. Copy it now: it is not shown again.{until}")
            st.code(token, language=None)
            base = _base_url()
            st.markdown("Use it with the API, or let the `forge` command run on this server:")
            st.code(
                f'curl -H "Authorization: Bearer $FORGE_TOKEN" {base}/api/v1/me\n'
                f'curl -H "Authorization: Bearer $FORGE_TOKEN" -H "Content-Type: application/json" \\\n'
                f"""  -d '[{{"id": "t1", "input": "question", "output": "answer"}}]' {base}/api/v1/traces\n"""
                f"export FORGE_URL={base} FORGE_TOKEN=<the token>\n"
                "forge import traces.jsonl --json",
                language="bash",
            )
            st.caption(f"Every endpoint is described at {base}/api/v1/openapi.json.")

    live = tokens.list_tokens(db, user)
    if not live:
        st.info("You have no API tokens yet: create one above to use the API or the `forge` command remotely.")
        return
    table = pd.DataFrame(
        [
            {
                "Name": t["name"],
                "Created (UTC)": f"{t['created_at']:%Y-%m-%d %H:%M}",
                "Last used (UTC)": f"{t['last_used_at']:%Y-%m-%d %H:%M}" if t["last_used_at"] else "never",
                "Expires (UTC)": _expiry(t),
            }
            for t in live
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    for t in live:
        cols = st.columns([4, 1], vertical_alignment="center")
        state = " · **expired**" if t["expired"] else ""
        cols[0].markdown(f"**{md(t['name'])}** · created {t['created_at']:%Y-%m-%d %H:%M} UTC{state}")
        if cols[1].button("Revoke", key=f"revoke_token_{t['id']}", icon=":material/block:"):
            run_action(
                lambda tid=t["id"]: tokens.revoke_token(db, user, tid),
                f"Token '{t['name']}' revoked: it stops working at once.",
                _NOTICE,
            )
