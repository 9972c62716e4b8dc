"""Session-state keys shared by app.py, forge/ui and pages (one place, no typos).

streamlit-authenticator owns its own keys (``authentication_status``,
``username``, ``name``, ``roles``, ``email``, ``logout``); ours start with ``forge_``.
"""

# The workspace in use (an id), set each run from the sidebar picker (a workspace name).
WORKSPACE_ID = "forge_workspace_id"
WORKSPACE_PICK = "forge_workspace_pick"
# Set by the logout button's callback; the next run logs out and clears the session.
LOGOUT_REQUESTED = "forge_logout_requested"
# After a form login: the signed cookie to write (rendered each run, acts once).
SET_COOKIE = "forge_set_cookie"
# The user's session generation at login (forge.auth.end_sessions): checked on every run.
SESSION_GENERATION = "forge_session_generation"
# After logout: delete the cookie (rendered each run until the next login).
DELETE_COOKIE = "forge_delete_cookie"
# A one-shot message shown on the login page (e.g. "Admin account created").
LOGIN_NOTICE = "forge_login_notice"
# A one-shot message shown on the home page after loading demo data.
HOME_NOTICE = "forge_home_notice"

# streamlit-authenticator's keys, read (never written) outside forge/ui/login.py.
AUTH_STATUS = "authentication_status"
AUTH_USERNAME = "username"
AUTH_LOGOUT = "logout"
