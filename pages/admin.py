"""Admin: users, passwords, workspaces and members, failed logins (admins only)."""

import streamlit as st

from forge.ui import admin_view, state
from forge.ui.widgets import page_help, show_notice

SECTIONS = {"Users": admin_view.users_section, "Workspaces": admin_view.workspaces_section}
SECTIONS["Failed logins"] = admin_view.security_section

db = state.get_db()
user = state.current_user(db)
if user is None or not user.is_admin:
    st.error("Only an admin can open this page.")
    st.stop()

st.title("Admin")
page_help(
    "Manage who can log in and what they may do: add users (with a role: admin, analyst, viewer),"
    " reset passwords (this ends a lockout), change roles and e-mail addresses, delete users (their"
    " ratings stay attributed). Create workspaces, add or remove members, and delete a workspace with"
    " everything in it (type its name to confirm). **Failed logins** lists lockouts and recent failures."
    " From the command line: `forge users add NAME --role analyst` (password on stdin)."
)
show_notice(admin_view.NOTICE)
# A radio kept in session state, not st.tabs: tabs jump back to the first one on every rerun,
# so submitting a form on "Workspaces" used to land on "Users".
section = st.radio("Section", list(SECTIONS), horizontal=True, key="admin_section", label_visibility="collapsed")
SECTIONS[section](db, user)
