"""Admin page: users, passwords, workspaces, members, failed logins; admins only."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from forge import auth
from tests.conftest import PASSWORD
from tests.pages.conftest import ROOT, log_in, new_app

ADMIN_PAGE = "pages/admin.py"
NEW_PASSWORD = "a brand new passphrase"


def _submit(at, label: str):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    return at


def _success(at) -> list[str]:
    return [s.value for s in at.success]


def _section(at, name: str):
    at.radio(key="admin_section").set_value(name).run()
    assert not at.exception, at.exception
    return at


def test_admin_adds_a_user_who_can_then_log_in(db, app_as):
    at = app_as("admin", page=ADMIN_PAGE)
    at.text_input(key="admin_new_username").input("Bea")
    at.text_input(key="admin_new_name").input("Bea Analyst")
    at.selectbox(key="admin_new_role").select("viewer")
    at.text_input(key="admin_new_password").input(PASSWORD)
    _submit(at, "Add user")
    assert "User 'bea' added as viewer." in _success(at)
    assert auth.get_user(db, "bea").role == "viewer"
    assert "bea" in list(at.dataframe[0].value["user"])
    assert auth.authenticate(db, "bea", PASSWORD).name == "Bea Analyst"


def test_add_user_with_a_short_password_is_refused(db, app_as):
    at = app_as("admin", page=ADMIN_PAGE)
    at.text_input(key="admin_new_username").input("shorty")
    at.text_input(key="admin_new_password").input("abc")
    _submit(at, "Add user")
    assert any("at least 10 characters" in e.value for e in at.error)
    assert auth.get_user(db, "shorty") is None


def test_reset_password_ends_a_lockout(db, app_as, analyst):
    for _ in range(5):
        with pytest.raises(auth.AuthError):
            auth.authenticate(db, "ana", "wrong password!")
    at = _section(app_as("admin", page=ADMIN_PAGE), "Failed logins")
    assert any("ana" in w.value and "Locked out" in w.value for w in at.warning)
    assert "ana" in list(at.dataframe[0].value["username"])  # recorded for the admin
    _section(at, "Users")
    at.selectbox(key="admin_reset_user").select("ana")
    at.text_input(key="admin_reset_password").input(NEW_PASSWORD)
    _submit(at, "Reset password")
    assert "Password of 'ana' reset." in _success(at)
    _section(at, "Failed logins")
    assert not any("Locked out" in w.value for w in at.warning)
    # The user can log in with the new password (and not the old one).
    user_at = log_in(new_app().run(), "ana", NEW_PASSWORD)
    assert user_at.session_state["authentication_status"] is True


def test_create_workspace_and_manage_members(db, app_as, admin, analyst):
    at = _section(app_as("admin", page=ADMIN_PAGE), "Workspaces")
    at.text_input(key="admin_ws_name").input("Research")
    at.text_input(key="admin_ws_description").input("Eval experiments")
    _submit(at, "Create workspace")
    assert any("Workspace 'Research' created" in s for s in _success(at))
    assert at.radio(key="admin_section").value == "Workspaces"  # the form's section stays open
    research = next(w for w in auth.all_workspaces(db, admin) if w["name"] == "Research")
    assert research["members"] == ["admin"]

    at.selectbox(key="admin_member_ws").select(research["id"])
    at.selectbox(key="admin_member_user").select("ana")
    _submit(at, "Add to workspace")
    assert "'ana' added to Research." in _success(at)
    assert [w.name for w in auth.workspaces_for(db, analyst)] == ["default", "Research"]

    at.selectbox(key="admin_member_ws").select(research["id"])
    at.selectbox(key="admin_member_user").select("ana")
    _submit(at, "Remove from workspace")
    assert "'ana' removed from Research." in _success(at)
    assert [w.name for w in auth.workspaces_for(db, analyst)] == ["default"]


def test_disable_a_user_and_change_role(db, app_as, analyst):
    at = app_as("admin", page=ADMIN_PAGE)
    at.selectbox(key="admin_role_user").select("ana")
    at.selectbox(key="admin_role_role").select("viewer")
    at.selectbox(key="admin_role_access").select("disabled")
    _submit(at, "Apply")
    assert "'ana' is now viewer, disabled." in _success(at)
    ana = auth.get_user(db, "ana")
    assert (ana.role, ana.disabled) == ("viewer", True)


def test_non_admin_has_no_admin_page_and_cannot_open_it(db, app_as, analyst):
    at = app_as("ana")
    assert "Admin" not in _nav_titles(at)
    with pytest.raises(ValueError, match="admin.py"):
        at.switch_page(ADMIN_PAGE)  # not in the analyst's navigation at all
    # Run the page file on its own as the analyst: the page itself refuses.
    page = AppTest.from_file(str(ROOT / ADMIN_PAGE), default_timeout=30)
    page.session_state["authentication_status"] = True
    page.session_state["username"] = "ana"
    page.run()
    assert not page.exception
    assert [e.value for e in page.error] == ["Only an admin can open this page."]
    assert not page.dataframe and not page.text_input  # no user list, no forms


def test_admin_sees_the_admin_page_in_navigation(app_as):
    at = app_as("admin")
    assert "Admin" in _nav_titles(at)


def _nav_titles(at) -> list[str]:
    return [info.get("page_name") for info in at._registered_pages.values()]


def test_user_email_on_create_and_edit(db, app_as, analyst):
    at = app_as("admin", page=ADMIN_PAGE)
    at.text_input(key="admin_new_username").input("cleo")
    at.text_input(key="admin_new_email").input("cleo@example.com")
    at.text_input(key="admin_new_password").input(PASSWORD)
    _submit(at, "Add user")
    assert auth.get_user(db, "cleo").email == "cleo@example.com"
    assert "cleo@example.com" in list(at.dataframe[0].value["email"])
    at.selectbox(key="admin_role_user").select("ana")
    at.selectbox(key="admin_role_role").select("analyst")
    at.text_input(key="admin_role_email").input("not-an-address")
    _submit(at, "Apply")
    assert any("not an e-mail address" in e.value for e in at.error)
    at.text_input(key="admin_role_email").input("ana@example.com")
    _submit(at, "Apply")
    assert auth.get_user(db, "ana").email == "ana@example.com"


def test_delete_a_user_keeps_their_ratings_attributed(db, app_as, admin, analyst, default_ws):
    from forge.review import ratings
    from forge.store.traces import upsert_traces
    from forge.traces.query import trace_detail

    tid = upsert_traces(
        auth.access(db, admin, default_ws.id),
        [{"source": "file", "source_id": "t1", "input_text": "q", "output_text": "a", "timestamp": None}],
    )["ids"][0]
    ana = auth.access(db, analyst, default_ws.id)
    es = ratings.get_or_create_eval_set(ana, "Grounded", "No invented facts")
    ratings.upsert_ratings(ana, es["id"], [{"trace_id": tid, "value": "fail"}])
    at = app_as("admin", page=ADMIN_PAGE)
    assert "admin" not in at.selectbox(key="admin_delete_user").options  # never yourself
    at.selectbox(key="admin_delete_user").select("ana")
    _submit(at, "Delete user")
    assert auth.get_user(db, "ana") is not None  # not ticked: nothing happens
    at.selectbox(key="admin_delete_user").select("ana")
    at.checkbox(key="admin_delete_user_sure").check()
    _submit(at, "Delete user")
    assert "User 'ana' deleted." in _success(at) and auth.get_user(db, "ana") is None
    assert "ana" not in list(at.dataframe[0].value["user"])
    detail = trace_detail(auth.access(db, admin, default_ws.id), tid)
    assert [(r["rater"], r["rater_label"]) for r in detail["ratings"]] == [("ana", "ana (removed)")]
    assert auth.removed_raters(db, ["ana", "admin", "file:x.jsonl"]) == {"ana"}
    with pytest.raises(auth.AuthError, match="removed user"):
        auth.create_user(db, admin, "ana", PASSWORD, "viewer")


def test_delete_workspace_needs_its_name_typed(db, app_as, admin, default_ws):
    from forge.store.traces import count_traces, upsert_traces

    research = auth.create_workspace(db, admin, "Research")
    upsert_traces(auth.access(db, admin, research.id), [{"source": "file", "source_id": "r1", "output_text": "a"}])
    at = _section(app_as("admin", page=ADMIN_PAGE), "Workspaces")
    at.selectbox(key="admin_delete_ws").select(research.id)
    at.text_input(key="admin_delete_ws_name").input("research")
    _submit(at, "Delete workspace")
    assert any("Type the workspace's name, 'Research'" in e.value for e in at.error)
    assert at.radio(key="admin_section").value == "Workspaces"
    at.selectbox(key="admin_delete_ws").select(research.id)
    at.text_input(key="admin_delete_ws_name").input("Research")
    _submit(at, "Delete workspace")
    assert "Workspace 'Research' and everything in it deleted." in _success(at)
    assert [w["name"] for w in auth.all_workspaces(db, admin)] == ["default"]
    assert db.scalar("SELECT count(*) FROM traces WHERE workspace_id = ?", [research.id]) == 0
    assert count_traces(auth.access(db, admin, default_ws.id)) == 0


def test_deleting_the_open_workspace_leaves_no_traceback(db, app_as, admin, default_ws):
    from forge import demo

    demo.load_demo(db, admin, default_ws.id)
    auth.create_workspace(db, admin, "Research")
    at = _section(app_as("admin", page=ADMIN_PAGE), "Workspaces")
    at.selectbox(key="admin_delete_ws").select(default_ws.id)
    at.text_input(key="admin_delete_ws_name").input("default")
    _submit(at, "Delete workspace")
    assert "Workspace 'default' and everything in it deleted." in _success(at)
    for table in ("traces", "ratings", "eval_sets", "jobs", "memberships"):
        assert db.scalar(f"SELECT count(*) FROM {table} WHERE workspace_id = ?", [default_ws.id]) == 0, table
    at.switch_page("pages/home.py")
    at.run()
    assert not at.exception and [t.value for t in at.title] == ["Workspace · Research"]
