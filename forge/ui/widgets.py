"""Small shared widgets: one-shot notices and actions whose errors are shown, not raised."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import streamlit as st

from forge import auth
from forge.ui.format import fmt_count

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
    # The body is a block: scripts share the page's global scope, so a second top-level `const el`
    # (this one again, or the review page's) would be a SyntaxError and the script would not run.
    st.html(
        f"<script>{{ const el = (window.parent || window).document.querySelector('.st-key-{key}') ||"
        f" document.querySelector('.st-key-{key}');"
        " if (el) el.scrollIntoView({behavior: 'smooth', block: 'start'}); }</script>",
        unsafe_allow_javascript=True,
    )


def page_help(text: str, title: str = "What is this page for?") -> None:
    """A page's short in-app help (what it is for, its shortcuts), folded at the top of the page."""
    with st.expander(title, icon=":material/help:"):
        st.markdown(text)


def job_badge(status: str, failed_rows: int = 0) -> str:
    """A job's status as a coloured markdown badge: green done, amber done with row errors, red failed."""
    if status == "done" and failed_rows:
        return f":orange-badge[:material/warning: done with {failed_rows:,} error{'s' if failed_rows != 1 else ''}]"
    colour, icon = {
        "done": ("green", "check_circle"),
        "failed": ("red", "error"),
        "cancelled": ("gray", "cancel"),
        "queued": ("blue", "schedule"),
        "running": ("blue", "progress_activity"),
    }.get(status, ("gray", "info"))
    return f":{colour}-badge[:material/{icon}: {md(status)}]"


def page_link_for(user: auth.User, path: str, label: str, icon: str | None = None) -> bool:
    """A link to the page at ``path`` when it is in ``user``'s menu (exists, role may use it); False otherwise.

    A link to a page outside the menu would fail, and would promise what the role cannot do.
    """
    from forge.ui import navigation

    if not any(p.path == path for p in navigation.pages_for(user)):
        return False
    st.page_link(path, label=label, icon=icon)
    return True


def pager(prefix: str, page: int, pages: int, page_size: int, shown: int, total: int, note: str = "") -> None:
    """← Previous · "Traces a–b of n" + ``note`` · Next →; the page number is kept in ``<prefix>_page``."""
    prev_col, info_col, next_col = st.columns([1, 4, 1])
    if prev_col.button("← Previous", key=f"{prefix}_prev", disabled=page <= 1, width="stretch"):
        st.session_state[f"{prefix}_page"] = page - 1
        st.rerun()
    first = (page - 1) * page_size + 1
    info_col.caption(f"Traces {fmt_count(first)}–{fmt_count(first + shown - 1)} of {fmt_count(total)}{note}")
    if next_col.button("Next →", key=f"{prefix}_next", disabled=page >= pages, width="stretch"):
        st.session_state[f"{prefix}_page"] = page + 1
        st.rerun()
