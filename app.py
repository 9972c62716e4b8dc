"""Forge: auth gate, workspace picker and navigation. Nothing else."""

import streamlit as st

from forge.ui import browser, login, navigation, server, state

st.set_page_config(page_title="Forge", page_icon=":material/local_fire_department:", layout="wide")

db = state.get_db()
authn = login.authenticator(db)
login.apply_logout_request(authn, db)
user = login.restore_session(authn, db)
login.sync_cookie(authn)
if user is None:
    st.navigation(login.login_pages(authn, db, [p.url_path for p in navigation.PAGES]), position="hidden").run()
    browser.preload_next_page()  # while the user types, the browser loads the code the page after the login needs
    st.stop()

server.logged_in()  # the server imports the pages' modules from now on, between runs
login.sidebar(db, user)
menu = {
    section: [
        st.Page(p.path, title=p.title, url_path=p.url_path, icon=p.icon, default=p.path == navigation.HOME)
        for p in specs
    ]
    for section, specs in navigation.menu_for(user).items()  # what the role cannot use is not in its menu
}
# Every page in view: the menu is short enough in sections, and a "View more" fold hid Admin.
st.navigation(menu, expanded=True).run()
