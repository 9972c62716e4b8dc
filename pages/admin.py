"""Admin: users, passwords, workspaces and members, failed logins (admins only)."""

import streamlit as st

from forge import auth
from forge.config import MIN_PASSWORD_LENGTH
from forge.ui import state
from forge.ui.widgets import run_action, show_notice

NOTICE = "admin_notice"
db = state.get_db()
user = state.current_user(db)
if user is None or not user.is_admin:
    st.error("Only an admin can open this page.")
    st.stop()

st.title("Admin")
show_notice(NOTICE)
users = auth.list_users(db, user)
names = [u.username for u in users]
spaces = auth.all_workspaces(db, user)
space_names = {w["id"]: w["name"] for w in spaces}
tab_users, tab_spaces, tab_security = st.tabs(["Users", "Workspaces", "Failed logins"])

with tab_users:
    st.dataframe(
        [{"user": u.username, "name": u.name, "email": u.email, "role": u.role, "disabled": u.disabled} for u in users],
        hide_index=True,
    )
    with st.form("admin_add_user", clear_on_submit=True):
        st.subheader("Add a user")
        c1, c2, c3 = st.columns(3)
        new_username = c1.text_input("User name", key="admin_new_username")
        new_name = c2.text_input("Full name", key="admin_new_name")
        new_role = c3.selectbox("Role", auth.ROLES, index=1, key="admin_new_role")
        new_password = st.text_input(
            "Initial password",
            type="password",
            key="admin_new_password",
            help=f"At least {MIN_PASSWORD_LENGTH} characters; tell it to the user.",
        )
        if st.form_submit_button("Add user"):
            run_action(
                lambda: auth.create_user(db, user, new_username, new_password, new_role, new_name or None),
                f"User '{new_username.strip().lower()}' added as {new_role}.",
                NOTICE,
            )
    with st.form("admin_reset_password", clear_on_submit=True):
        st.subheader("Reset a password")
        st.caption("This also ends a lockout after failed logins.")
        target = st.selectbox("User", names, key="admin_reset_user")
        password = st.text_input("New password", type="password", key="admin_reset_password")
        if st.form_submit_button("Reset password"):
            run_action(lambda: auth.set_password(db, user, target, password), f"Password of '{target}' reset.", NOTICE)
    with st.form("admin_role"):
        st.subheader("Change role or access")
        c1, c2, c3 = st.columns(3)
        who = c1.selectbox("User", names, key="admin_role_user")
        role = c2.selectbox("Role", auth.ROLES, key="admin_role_role")
        access = c3.selectbox("Access", ["enabled", "disabled"], key="admin_role_access")
        if st.form_submit_button("Apply"):

            def apply():
                auth.set_role(db, user, who, role)
                auth.set_disabled(db, user, who, access == "disabled")

            run_action(apply, f"'{who}' is now {role}, {access}.", NOTICE)

with tab_spaces:
    st.dataframe(
        [{"workspace": w["name"], "description": w["description"], "members": ", ".join(w["members"])} for w in spaces],
        hide_index=True,
    )
    with st.form("admin_create_workspace", clear_on_submit=True):
        st.subheader("Create a workspace")
        ws_name = st.text_input("Name", key="admin_ws_name")
        ws_description = st.text_input("Description", key="admin_ws_description")
        if st.form_submit_button("Create workspace"):
            run_action(
                lambda: auth.create_workspace(db, user, ws_name, ws_description or None),
                f"Workspace '{ws_name.strip()}' created; you are its first member.",
                NOTICE,
            )
    with st.form("admin_members"):
        st.subheader("Members")
        c1, c2 = st.columns(2)
        ws_id = c1.selectbox("Workspace", list(space_names), format_func=space_names.get, key="admin_member_ws")
        member = c2.selectbox("User", names, key="admin_member_user")
        add, remove = st.columns(2)
        if add.form_submit_button("Add to workspace"):
            run_action(
                lambda: auth.add_member(db, user, ws_id, member),
                f"'{member}' added to {space_names.get(ws_id)}.",
                NOTICE,
            )
        if remove.form_submit_button("Remove from workspace"):
            run_action(
                lambda: auth.remove_member(db, user, ws_id, member),
                f"'{member}' removed from {space_names.get(ws_id)}.",
                NOTICE,
            )

with tab_security:
    locked = auth.locked_users(db, user)
    if locked:
        st.warning(
            "Locked out now: "
            + ", ".join(f"{r['username']} (until {r['locked_until']:%H:%M} UTC)" for r in locked)
            + ". Resetting a password ends its lockout."
        )
    else:
        st.caption("Nobody is locked out.")
    failures = auth.failed_logins(db, user, limit=100)
    st.subheader(f"Recent failed logins ({len(failures)})")
    st.dataframe(
        failures, hide_index=True, column_config={"attempted_at": st.column_config.DatetimeColumn("when (UTC)")}
    )
