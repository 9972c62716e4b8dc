"""Small shared widgets: one-shot notices and actions whose errors are shown, not raised."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import streamlit as st

from forge import auth

# What makes markdown do something: links, images, code, emphasis, HTML, tables, headings, and
# Streamlit's own syntax (:color[..], :material/icon:, $latex$). Every _ is escaped: "__start__"
# must not turn into an italic "_start_" (intra-word rules differ between renderers).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()!<>~:$|#])|(?:^|(?<=\n))\s*([-+])")


def md(value: Any, inline: bool = True) -> str:
    """``value`` as literal text inside Streamlit markdown (titles, captions, labels, alerts).

    Imported traces, file names and provider errors are data: a name like
    ``![x](https://evil/beacon)`` must show as those characters, not load an image or link.
    ``inline`` (labels, titles) puts everything on one line; else lines become line breaks.
    """
    text = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0).lstrip(), "" if value is None else str(value))
    return text.replace("\n", " " if inline else "  \n")


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


def scroll_into_view(key: str) -> None:
    """Scroll the browser to the container made with ``st.container(key=key)`` (no-op elsewhere)."""
    st.html(
        f"<script>const el = (window.parent || window).document.querySelector('.st-key-{key}') ||"
        f" document.querySelector('.st-key-{key}');"
        " if (el) el.scrollIntoView({behavior: 'smooth', block: 'start'});</script>",
        unsafe_allow_javascript=True,
    )
