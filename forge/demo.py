"""The shipped demo: traces of a support assistant, half rated for one criterion."""

from __future__ import annotations

from pathlib import Path

from forge import auth
from forge.store import Database
from forge.store.types import ImportSummary, Progress

DEMO_FILE = Path(__file__).resolve().parent.parent / "data" / "demo_traces.jsonl"
DEMO_EVAL_SET = "Grounded answers"
DEMO_CRITERION = (
    "The answer states only facts found in the retrieved documents or tool results: no invented "
    "policies, prices, numbers or promises. Saying the documents do not cover a question is a pass."
)


def load_demo(db: Database, actor: auth.User, workspace_id: str, progress: Progress | None = None) -> ImportSummary:
    """Import the demo traces and their ratings into ``workspace_id``; the import summary."""
    access = auth.access(db, actor, workspace_id, "import")
    from forge.traces.files import import_files

    return import_files(access, [DEMO_FILE], eval_set=DEMO_EVAL_SET, progress=progress, criterion=DEMO_CRITERION)


def criterion_for(paths: list[str], eval_set: str | None) -> str:
    """The demo eval set's criterion when the shipped demo file goes into it (as "Load demo data" does)."""
    if eval_set == DEMO_EVAL_SET and any(Path(p).resolve() == DEMO_FILE for p in paths):
        return DEMO_CRITERION
    return ""
