"""Let the browser load the code of the page after the login while the login form waits.

Streamlit's frontend fetches and compiles each element type's code (a JS chunk) the first time
a page shows that element. After a login the home page and its sidebar show a selectbox,
buttons, metrics, a table and page links the login page has none of: that code used to load
only after the password check, ~0.1-0.3 s before the home page could be drawn (measured with
bench/startup). The login page asks the browser to import it when idle, so it is there when
the home page arrives. Streamlit imports the same URLs itself, so nothing is loaded twice;
with another Streamlit build (other chunk names) this finds nothing and does nothing.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import streamlit as st

# Element types of the home page and the sidebar that the login page does not show, and the
# markdown renderer's HTML support (rehype-raw, loaded for the first markdown with HTML).
_ELEMENTS = ("Selectbox", "Button", "Metric", "PageLink", "DataFrame", "rehype-raw")
# Scripts are imported (fetched, compiled, run: they only define components); style sheets are
# prefetched into the cache (applied only when the element that needs them is drawn).
_SCRIPT = """<script>
(() => {
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
})();
</script>"""
# An element that only runs a script still takes a slot (and a gap) in the layout.
_HIDE = """<style>
.stElementContainer:has(.forge-preload) { position: absolute; width: 1px; height: 1px; overflow: hidden; }
</style>"""


@functools.cache
def _chunks(kind: str) -> tuple[str, ...]:
    """The file names of those element types' ``kind`` (js, css) chunks in this Streamlit's frontend build."""
    folder = Path(st.__file__).parent / "static" / "static" / kind
    pattern = re.compile(rf"^({'|'.join(_ELEMENTS)})\.[\w-]+\.{kind}$")
    try:
        return tuple(sorted(p.name for p in folder.iterdir() if pattern.match(p.name)))
    except OSError:
        return ()


def next_page_code() -> None:
    """On the login page: have the browser import the code of the home page's elements when idle."""
    chunks = _chunks("js")
    if chunks:
        script = _SCRIPT.replace("CHUNKS", json.dumps(list(chunks))).replace("STYLES", json.dumps(list(_chunks("css"))))
        st.html(f'{_HIDE}<div class="forge-preload"></div>{script}', unsafe_allow_javascript=True)
