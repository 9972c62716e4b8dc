"""Start the app: ``python -m forge.ui.serve [streamlit options]`` is ``streamlit run app.py`` minus
Streamlit's pages-folder mode.

Streamlit decides once per server process whether the app is a legacy "pages/ folder" app (there
is a ``pages/`` folder beside ``app.py``), and runs the first session's first script run in that
mode: a direct link such as ``/browse-traces`` on a fresh server then shows a "Page not found"
modal (no ``pages/browse-traces.py``) before ``app.py`` calls ``st.navigation``, which turns the
mode off for good. A file-name link (``/traces``) would even run that page without the auth
gate. Forge's pages are always given by ``st.navigation``, so the mode is turned off before the
server starts.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app.py"


def main(argv: list[str] | None = None) -> None:
    """Run the Streamlit server on app.py with ``argv`` as extra ``streamlit run`` options."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False  # pages come from st.navigation only
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
