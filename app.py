"""Forge: auth gate, workspace picker and navigation. Nothing else."""

import streamlit as st

from forge.ui import login, state

# (file, title, url path, icon, admins only).
# URL paths differ from the file names on purpose: with a pages/ folder, Streamlit's
# legacy folder mode (the server's first run, and AppTest on every run) would match
# a file-name URL and run that page file alone, without this auth gate and sidebar.
PAGES = [
    ("pages/home.py", "Home", "overview", ":material/home:", False),
    ("pages/playground.py", "Playground", "prompt-playground", ":material/science:", False),
    ("pages/runs.py", "Runs", "run-history", ":material/history:", False),
    ("pages/traces.py", "Traces", "browse-traces", ":material/timeline:", False),
    ("pages/import.py", "Import", "import-data", ":material/upload:", False),
    ("pages/settings.py", "Settings", "workspace-settings", ":material/settings:", False),
    ("pages/admin.py", "Admin", "administration", ":material/admin_panel_settings:", True),
]

st.set_page_config(page_title="Forge", page_icon=":material/local_fire_department:", layout="wide")

db = state.get_db()
authn = login.authenticator(db)
login.apply_logout_request(authn)
user = login.restore_session(authn, db)
login.sync_cookie(authn)
if user is None:
    st.navigation(login.login_pages(authn, db, [p[2] for p in PAGES]), position="hidden").run()
    st.stop()

login.sidebar(db, user)
pages = [
    st.Page(path, title=title, url_path=url, icon=icon, default=path == "pages/home.py")
    for path, title, url, icon, admin_only in PAGES
    if user.is_admin or not admin_only
]
st.navigation(pages).run()
