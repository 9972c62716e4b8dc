"""The Settings page's scheduled Langfuse sync: the interval (for members who may import) and the last result."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from forge import auth, sync
from forge.store import Database
from forge.ui.format import fmt_count
from forge.ui.widgets import md, show_notice

_NOTICE = "sync_notice"


def _when(ts: datetime | None) -> str:
    return f"{ts:%Y-%m-%d %H:%M:%S} UTC" if ts else "never"


def last_result_text(s: sync.SyncStatus) -> str:
    """One line: when the last sync ended and what it brought."""
    if s.last_status is None:
        return "No scheduled sync has run yet."
    counts = ", ".join(
        f"{label} {fmt_count(n or 0)}"
        for label, n in (("imported", s.imported), ("updated", s.updated), ("failed", s.failed))
    )
    verdict = "succeeded" if s.last_status == "done" else "failed"
    return f"Last sync {verdict} at {_when(s.last_finished_at)}: {counts}."


def render_sync(db: Database, user: auth.User, workspace_id: str, langfuse_configured: bool) -> None:
    """The sync setting of the current workspace, its form, and its last result."""
    st.subheader("Scheduled Langfuse sync")
    st.caption(
        "Import new traces from Langfuse every N minutes, in the background of this server (only what is "
        "newer than the last import). Off by default; set per workspace. Runs with the rights of whoever "
        "switches it on."
    )
    show_notice(_NOTICE)
    s = sync.status(db, user, workspace_id)
    if s.enabled:
        state = "running now" if s.running else f"next run about {_when(s.next_run_at)}"
        st.markdown(
            f"**On**: every {s.every_minutes:g} minute{'s' if s.every_minutes != 1 else ''}, as "
            f"**{md(s.run_as or 'nobody')}** ({state})."
        )
        if not langfuse_configured:
            st.warning("Langfuse is not configured (see above): each scheduled run will fail until it is.")
        if not sync.scheduler_running():
            st.warning(
                "This process does not run scheduled syncs: serve Forge with `make run`"
                " (`python -m forge.ui.server`) for them to happen."
            )
    else:
        st.markdown("**Off**.")
    if s.last_status == "failed":
        st.error(md(last_result_text(s) + (f" {s.error}" if s.error else ""), inline=False))
    elif s.last_status == "done":
        st.success(md(last_result_text(s)), icon=":material/sync:")
    else:
        st.caption(last_result_text(s))

    if not s.can_change:
        st.caption("Your role cannot change this setting: ask an analyst or an admin of this workspace.")
        return
    with st.form("langfuse_sync"):
        on = st.toggle("Import from Langfuse on a schedule", value=s.enabled, key="sync_on")
        lowest = sync.min_minutes()
        minutes = st.number_input(
            "Every N minutes",
            min_value=float(lowest),
            max_value=float(sync.MAX_MINUTES),
            value=float(s.every_minutes or max(lowest, 60)),
            step=1.0,
            key="sync_minutes",
        )
        saved = st.form_submit_button("Save schedule", icon=":material/schedule:")
    if saved:
        try:
            sync.set_schedule(db, user, workspace_id, float(minutes) if on else None)
        except (auth.AuthError, ValueError) as exc:
            st.error(str(exc))
            return
        st.session_state[_NOTICE] = f"Langfuse sync every {minutes:g} minutes." if on else "Langfuse sync is off."
        st.rerun()
