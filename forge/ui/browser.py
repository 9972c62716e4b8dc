"""Small scripts the app runs in the browser page itself: the login cookie's writes, and the
login page's preload of the code the page after it needs.

A script element runs once per mount: a run that renders it must reach the browser, and the
same element rendered again by the next run does not run again.

Cookie writes: streamlit-authenticator writes its cookie through extra-streamlit-components'
cookie manager, one more iframe (its own HTML, scripts and style sheet) that reports back and
so reruns the script once more; after a login both landed while the browser was drawing the
home page. Here the write is one line of JavaScript: under the Forge server a POST of a
one-time ticket to a route that answers with an HttpOnly Set-Cookie (forge.ui.session_cookie),
so the token never reaches the page; under a plain ``streamlit run`` a ``document.cookie``
write (path /, strict same-site, Secure over HTTPS).

Preload: Streamlit's frontend fetches and compiles each element type's code (a JS chunk) the
first time a page shows that element. After a login the home page and its sidebar show a
selectbox, buttons, metrics, a table and page links the login page has none of: that code used
to load only after the password check, ~0.1-0.3 s before the home page could be drawn
(measured with bench/startup). The login page asks the browser to import it when idle.
Streamlit imports the same URLs itself, so nothing is loaded twice; with another Streamlit
build (other chunk names) this finds nothing and does nothing.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import streamlit as st

from forge.ui import session_cookie

# Element types of the home page and the sidebar that the login page does not show, and the
# markdown renderer's HTML support (rehype-raw, loaded for the first markdown with HTML).
_ELEMENTS = ("Selectbox", "Button", "Metric", "PageLink", "DataFrame", "rehype-raw")
# Scripts are imported (fetched, compiled, run: they only define components); style sheets are
# prefetched into the cache (applied only when the element that needs them is drawn).
_PRELOAD = """(() => {
  const main = document.querySelector('script[type="module"][src*="/static/js/index."]');
  if (!main) return;
  const load = () => {
    CHUNKS.forEach((name) => import(new URL(name, main.src).href).catch(() => {}));
    STYLES.forEach((name) => {
      const link = document.createElement("link");
      link.rel = "prefetch";
      link.href = new URL("../css/" + name, main.src).href;
      document.head.appendChild(link);
    });
  };
  (window.requestIdleCallback || ((f) => setTimeout(f, 200)))(load);
})();"""
# An element that only runs a script still takes a slot (and a gap) in the layout.
_HIDE = """<style>
.stElementContainer:has(.forge-script) { position: absolute; width: 1px; height: 1px; overflow: hidden; }
</style>"""


def _js(value: object) -> str:
    """``value`` as a JavaScript literal that cannot end the script element."""
    return json.dumps(value).replace("<", "\\u003c")


def run_script(code: str) -> None:
    """Run ``code`` in the page (once per mount), taking no room in the layout."""
    st.html(f'{_HIDE}<div class="forge-script"></div><script>{code}</script>', unsafe_allow_javascript=True)


def set_cookie(name: str, value: str, expires: datetime) -> None:
    """Write cookie ``name`` for the whole app (path /, strict same-site, Secure over HTTPS) until ``expires``.

    Page JavaScript cannot make it HttpOnly: the Forge server sets the login cookie with
    :func:`set_cookie_by_ticket` instead; this is for a plain ``streamlit run app.py``.
    """
    attributes = f"; path=/; expires={format_datetime(expires.astimezone(UTC), usegmt=True)}; SameSite=Strict"
    run_script(
        f"document.cookie = {_js(name)} + '=' + encodeURIComponent({_js(value)}) + {_js(attributes)}"
        " + (location.protocol === 'https:' ? '; Secure' : '');"
    )


def set_cookie_by_ticket(ticket: str) -> None:
    """Have the server set the HttpOnly login cookie held under ``ticket`` (forge.ui.session_cookie)."""
    headers = {session_cookie.HEADER: "1", session_cookie.TICKET_HEADER: ticket}
    run_script(
        f"fetch({_js(session_cookie.SET_PATH)}, {{method: 'POST', credentials: 'same-origin',"
        f" cache: 'no-store', headers: {_js(headers)}}}).catch(() => {{}});"
    )


def delete_cookie(name: str) -> None:
    """Delete cookie ``name``: the server's HttpOnly one (when it serves the route) and one the page wrote."""
    attributes = "=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Strict"
    code = f"document.cookie = {_js(name)} + {_js(attributes)};"
    if session_cookie.routes_mounted():
        code += (
            f" fetch({_js(session_cookie.DELETE_PATH)}, {{method: 'POST', credentials: 'same-origin',"
            f" cache: 'no-store', headers: {_js({session_cookie.HEADER: '1'})}}}).catch(() => {{}});"
        )
    run_script(code)


@functools.cache
def _chunks(kind: str) -> tuple[str, ...]:
    """The file names of those element types' ``kind`` (js, css) chunks in this Streamlit's frontend build."""
    folder = Path(st.__file__).parent / "static" / "static" / kind
    pattern = re.compile(rf"^({'|'.join(_ELEMENTS)})\.[\w-]+\.{kind}$")
    try:
        return tuple(sorted(p.name for p in folder.iterdir() if pattern.match(p.name)))
    except OSError:
        return ()


def preload_next_page() -> None:
    """On the login page: have the browser import the code of the home page's elements when idle."""
    chunks = _chunks("js")
    if chunks:
        run_script(_PRELOAD.replace("CHUNKS", _js(list(chunks))).replace("STYLES", _js(list(_chunks("css")))))
