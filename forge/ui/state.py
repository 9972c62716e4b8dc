"""Per-run state every page needs: the database, the logged-in user, the workspace.

Pages start with ``access = guard("rate")`` (db, user, workspace, role): it stops the page with a clear
message when nobody is logged in, when the user belongs to no workspace, or when
the user's role cannot do ``action`` (read, rate, import, run, edit).

One database per process: ``get_db()`` caches a ``Database`` per file path with
``st.cache_resource``. DuckDB shares one instance per file within a process, so a
second ``Database`` on the same path (the ``db`` fixture of a test, the CLI in a
test) sees the same data; tests clear ``st.cache_resource`` between tests.
"""

from __future__ import annotations

import streamlit as st

from forge import auth
from forge.config import settings
from forge.store import Database, DatabaseBusy
from forge.ui import keys


@st.cache_resource(show_spinner=False)
def _database(path: str) -> Database:
    return Database(path)


def get_db() -> Database:
    """The process-wide Database for ``settings().db_path`` (migrated on first open)."""
    try:
        return _database(str(settings().db_path))
    except DatabaseBusy as exc:  # not cached: the next run tries again
        st.error(f"{exc}")
        st.caption("Forge will open it as soon as the other process lets go: reload this page.")
        st.stop()


def current_user(db: Database | None = None) -> auth.User | None:
    """The logged-in user, re-read from the database each run (None if disabled or gone)."""
    if not st.session_state.get(keys.AUTH_STATUS):
        return None
    username = st.session_state.get(keys.AUTH_USERNAME)
    if not username:
        return None
    user = auth.get_user(db or get_db(), username)
    if user is None or user.disabled:
        return None
    return user


def current_workspace(db: Database | None = None, user: auth.User | None = None) -> auth.Workspace | None:
    """The workspace picked in the sidebar, if the user still belongs to it; else their first."""
    db = db or get_db()
    user = user or current_user(db)
    if user is None:
        return None
    spaces = auth.workspaces_for(db, user)
    if not spaces:
        return None
    picked = st.session_state.get(keys.WORKSPACE_ID)
    for ws in spaces:
        if ws.id == picked:
            return ws
    return spaces[0]


_ACTION_WORDS = {
    "rate": "rate traces",
    "import": "import traces",
    "run": "run prompts or evals",
    "edit": "change evals or eval sets",
}


def guard(action: str = "read") -> auth.Access:
    """The page's one permission check: an ``Access`` (db, user, workspace, role), or a message and ``st.stop()``."""
    db = get_db()
    user = current_user(db)
    if user is None:
        st.warning("Please log in first.")
        st.stop()
    ws = current_workspace(db, user)
    if ws is None:
        st.info("You are not a member of any workspace yet: ask an admin to add you to a workspace.")
        st.stop()
    try:
        return auth.access(db, user, ws.id, action)
    except auth.PermissionDenied:
        what = _ACTION_WORDS.get(action, action)
        st.warning(
            f"Your role is **{user.role}**: it can look at workspace data but cannot {what}. "
            "Ask an admin if you need more access."
        )
        st.stop()
        raise  # st.stop() ends the script run; never reached
