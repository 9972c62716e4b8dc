"""The app's pages and who sees them: a page a role cannot use is not in its menu.

Also the page of each of the home page's next steps (``NextStep.page``): a step is shown only
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
    section: str = ""  # the menu's heading the page sits under

    @property
    def exists(self) -> bool:
        return (ROOT / self.path).exists()


PAGES = [
    PageSpec("pages/home.py", "Home", "overview", ":material/home:"),
    # Comparing models and prompts.
    PageSpec("pages/playground.py", "Playground", "prompt-playground", ":material/science:", "run", section="Models"),
    PageSpec("pages/prompts.py", "Prompts", "prompt-library", ":material/library_books:", section="Models"),
    PageSpec("pages/datasets.py", "Datasets", "datasets", ":material/table:", section="Models"),
    PageSpec("pages/batches.py", "Batch runs", "batch-runs", ":material/dynamic_feed:", section="Models"),
    PageSpec("pages/runs.py", "Runs", "run-history", ":material/history:", section="Models"),
    PageSpec("pages/traces.py", "Traces", "browse-traces", ":material/timeline:", section="Traces"),
    PageSpec("pages/import.py", "Import", "import-data", ":material/upload:", action="import", section="Traces"),
    # Viewers may open these to read; rating, editing and running are checked per action.
    PageSpec("pages/review.py", "Review", "rate-traces", ":material/thumbs_up_down:", section="Evaluate"),
    PageSpec("pages/eval_sets.py", "Eval sets", "eval-set-list", ":material/checklist:", section="Evaluate"),
    PageSpec("pages/evals.py", "Evals", "eval-functions", ":material/fact_check:", section="Evaluate"),
    PageSpec("pages/generate.py", "Generate evals", "generate-evals", ":material/auto_fix_high:", section="Evaluate"),
    PageSpec("pages/matrix.py", "Matrix", "contradiction-matrix", ":material/grid_on:", section="Evaluate"),
    PageSpec("pages/settings.py", "Settings", "workspace-settings", ":material/settings:", section="Workspace"),
    PageSpec(
        "pages/admin.py",
        "Admin",
        "administration",
        ":material/admin_panel_settings:",
        admin_only=True,
        section="Workspace",
    ),
]
HOME = "pages/home.py"


def pages_for(user: auth.User) -> list[PageSpec]:
    """The pages in ``user``'s menu: existing ones their role can use."""
    return [
        p
        for p in PAGES
        if p.exists and (user.is_admin or not p.admin_only) and (p.action == "read" or auth.role_may(user, p.action))
    ]


def menu_for(user: auth.User) -> dict[str, list[PageSpec]]:
    """``user``'s menu by section heading, in menu order ("" first: the pages above any heading)."""
    menu: dict[str, list[PageSpec]] = {}
    for p in pages_for(user):
        menu.setdefault(p.section, []).append(p)
    return menu


def page_for_step(user: auth.User, step_page: str | None) -> PageSpec | None:
    """The page in ``user``'s menu at ``step_page`` (a next step's page file), else None.

    None also when the page file does not exist yet: a step is not promised before its page is there.
    """
    return next((p for p in pages_for(user) if p.path == step_page), None)
