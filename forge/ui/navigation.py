"""The app's pages and who sees them: a page a role cannot use is not in its menu.

Also the page that does each of the home page's next steps: a step is shown only
when its page exists and the user may use it, so no link leads to a dead end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from forge import auth

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to the checkout, e.g. "pages/home.py"
    title: str
    # URL paths differ from the file names on purpose: with a pages/ folder, Streamlit's
    # legacy folder mode (the server's first run, and AppTest on every run) would match
    # a file-name URL and run that page file alone, without the auth gate and sidebar.
    url_path: str
    icon: str
    action: str = "read"  # what the role must be allowed to do to see the page
    admin_only: bool = False

    @property
    def exists(self) -> bool:
        return (ROOT / self.path).exists()


PAGES = [
    PageSpec("pages/home.py", "Home", "overview", ":material/home:"),
    PageSpec("pages/playground.py", "Playground", "prompt-playground", ":material/science:", action="run"),
    PageSpec("pages/runs.py", "Runs", "run-history", ":material/history:"),
    PageSpec("pages/traces.py", "Traces", "browse-traces", ":material/timeline:"),
    PageSpec("pages/matrix.py", "Matrix", "contradiction-matrix", ":material/grid_on:"),
    PageSpec("pages/import.py", "Import", "import-data", ":material/upload:", action="import"),
    PageSpec("pages/settings.py", "Settings", "workspace-settings", ":material/settings:"),
    PageSpec("pages/admin.py", "Admin", "administration", ":material/admin_panel_settings:", admin_only=True),
]
HOME = "pages/home.py"

# The page that does each next step of forge.store.summary.next_step, by its title.
# Rating has no page of its own yet (the review page comes with the review issue), nor
# do evals and the contradiction matrix: until they exist those steps are not shown.
STEP_PAGES = {
    "Bring in some traces": "pages/import.py",
    "Rate traces": "pages/review.py",
    "Rate more traces": "pages/review.py",
    "Create evals": "pages/evals.py",
    "Run the evals": "pages/evals.py",
    "Look at the contradictions": "pages/matrix.py",
}


def pages_for(user: auth.User) -> list[PageSpec]:
    """The pages in ``user``'s menu: existing ones their role can use."""
    return [
        p
        for p in PAGES
        if p.exists and (user.is_admin or not p.admin_only) and (p.action == "read" or auth.role_may(user, p.action))
    ]


def page_for_step(user: auth.User, title: str) -> PageSpec | None:
    """The page in ``user``'s menu that does the next step called ``title``, else None."""
    path = STEP_PAGES.get(title)
    return next((p for p in pages_for(user) if p.path == path), None)
