"""The admin page's sections: users, workspaces, failed logins (each a function; the page picks one)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from forge import auth
from forge.config import MIN_PASSWORD_LENGTH
from forge.store import Database
from forge.ui.widgets import md, run_action

NOTICE = "admin_notice"


def users_section(db: Database, actor: auth.User) -> None:
    """The user list; add, reset a password, change role/access/e-mail, delete."""
    users = auth.list_users(db, actor)
    names = [u.username for u in users]
    st.dataframe(
        pd.DataFrame(
            [
                {"user": u.username, "name": u.name, "email": u.email or "", "role": u.role, "disabled": u.disabled}
                for u in users
            ]
        ),
        hide_index=True,
    )
    with st.form("admin_add_user", clear_on_submit=True):
        st.subheader("Add a user")
        c1, c2, c3, c4 = st.columns(4)
        username = c1.text_input("User name", key="admin_new_username")
        name = c2.text_input("Full name", key="admin_new_name")
        email = c3.text_input("E-mail", key="admin_new_email")
        role = c4.selectbox("Role", auth.ROLES, index=1, key="admin_new_role")
        password = st.text_input(
            "Initial password",
            type="password",
            key="admin_new_password",
            help=f"At least {MIN_PASSWORD_LENGTH} characters; tell it to the user.",
        )
        if st.form_submit_button("Add user"):
            run_action(
                lambda: auth.create_user(db, actor, username, password, role, name or None, email or None),
                f"User '{username.strip().lower()}' added as {role}.",
                NOTICE,
            )
    with st.form("admin_reset_password", clear_on_submit=True):
        st.subheader("Reset a password")
        st.caption("This also ends a lockout after failed logins.")
        target = st.selectbox("User", names, key="admin_reset_user")
        password = st.text_input("New password", type="password", key="admin_reset_password")
        if st.form_submit_button("Reset password"):
            run_action(lambda: auth.set_password(db, actor, target, password), f"Password of '{target}' reset.", NOTICE)
    with st.form("admin_role"):
        st.subheader("Change role, access or e-mail")
        c1, c2, c3, c4 = st.columns(4)
        who = c1.selectbox("User", names, key="admin_role_user")
        role = c2.selectbox("Role", auth.ROLES, key="admin_role_role")
        access = c3.selectbox("Access", ["enabled", "disabled"], key="admin_role_access")
        email = c4.text_input("E-mail (empty: unchanged)", key="admin_role_email")
        if st.form_submit_button("Apply"):

            def apply():
                auth.set_role(db, actor, who, role)
                auth.set_disabled(db, actor, who, access == "disabled")
                if email.strip():
                    auth.set_email(db, actor, who, email)

            run_action(apply, f"'{who}' is now {role}, {access}.", NOTICE)
    with st.form("admin_delete_user", clear_on_submit=True):
        st.subheader("Delete a user")
        st.caption(
            "Their ratings stay, shown as “name (removed)”; the name cannot be given to someone else."
            " You cannot delete yourself or the last admin."
        )
        gone = st.selectbox("User", [n for n in names if n != actor.username], key="admin_delete_user")
        sure = st.checkbox("Yes, delete this user", key="admin_delete_user_sure")
        if st.form_submit_button("Delete user", type="primary"):
            if not sure:
                st.error("Tick “Yes, delete this user” to confirm.")
            elif gone:
                run_action(lambda: auth.delete_user(db, actor, gone), f"User '{gone}' deleted.", NOTICE)


def workspaces_section(db: Database, actor: auth.User) -> None:
    """The workspace list; create, members, delete (typing its name)."""
    spaces = auth.all_workspaces(db, actor)
    names = [u.username for u in auth.list_users(db, actor)]
    space_names = {w["id"]: w["name"] for w in spaces}
    st.dataframe(
        pd.DataFrame(
            [
                {"workspace": w["name"], "description": w["description"] or "", "members": ", ".join(w["members"])}
                for w in spaces
            ]
        ),
        hide_index=True,
    )
    with st.form("admin_create_workspace", clear_on_submit=True):
        st.subheader("Create a workspace")
        ws_name = st.text_input("Name", key="admin_ws_name")
        ws_description = st.text_input("Description", key="admin_ws_description")
        if st.form_submit_button("Create workspace"):
            run_action(
                lambda: auth.create_workspace(db, actor, ws_name, ws_description or None),
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
                lambda: auth.add_member(db, actor, ws_id, member),
                f"'{member}' added to {space_names.get(ws_id)}.",
                NOTICE,
            )
        if remove.form_submit_button("Remove from workspace"):
            run_action(
                lambda: auth.remove_member(db, actor, ws_id, member),
                f"'{member}' removed from {space_names.get(ws_id)}.",
                NOTICE,
            )
    with st.form("admin_delete_workspace", clear_on_submit=True):
        st.subheader("Delete a workspace")
        st.caption("Deletes its traces, ratings, eval sets, evals, runs and jobs for good.")
        doomed = st.selectbox("Workspace", list(space_names), format_func=space_names.get, key="admin_delete_ws")
        typed = st.text_input("Type the workspace's name to confirm", key="admin_delete_ws_name")
        if st.form_submit_button("Delete workspace", type="primary") and doomed:
            run_action(
                lambda: auth.delete_workspace(db, actor, doomed, typed),
                f"Workspace '{space_names[doomed]}' and everything in it deleted.",
                NOTICE,
            )


def security_section(db: Database, actor: auth.User) -> None:
    """Who is locked out now and the recent failed logins."""
    locked = auth.locked_users(db, actor)
    if locked:
        st.warning(
            "Locked out now: "
            + ", ".join(f"{md(r['username'])} (until {r['locked_until']:%H:%M} UTC)" for r in locked)
            + ". Resetting a password ends its lockout."
        )
    else:
        st.caption("Nobody is locked out.")
    failures = auth.failed_logins(db, actor, limit=100)
    st.subheader(f"Recent failed logins ({len(failures)})")
    if not failures:
        st.caption("No failed logins recorded.")
        return
    st.dataframe(
        failures, hide_index=True, column_config={"attempted_at": st.column_config.DatetimeColumn("when (UTC)")}
    )
