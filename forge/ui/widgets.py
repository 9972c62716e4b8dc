"""Small shared widgets: one-shot notices and actions whose errors are shown, not raised."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from forge import auth


def show_notice(key: str) -> None:
    """Show (once) a success message left by the previous run."""
    message = st.session_state.pop(key, None)
    if message:
        st.success(message)


def run_action(fn: Callable[[], object], success: str, notice_key: str) -> None:
    """Run ``fn``; on success leave ``success`` for the next run and rerun, else show the error."""
    try:
        fn()
    except auth.AuthError as exc:  # PermissionDenied and LockedOut included
        st.error(str(exc))
        return
    st.session_state[notice_key] = success
    st.rerun()
