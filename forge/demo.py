"""The shipped demo: traces of a support assistant, half rated for one criterion."""
from __future__ import annotations

from pathlib import Path

from forge import auth
from forge.store import Database

DEMO_FILE = Path(__file__).resolve().parent.parent / "data" / "demo_traces.jsonl"
DEMO_EVAL_SET = "Grounded answers"
DEMO_CRITERION = (
    "The answer states only facts found in the retrieved documents or tool results: no invented "
    "policies, prices, numbers or promises. Saying the documents do not cover a question is a pass."
)


def load_demo(db: Database, actor: auth.User, workspace_id: str, progress=None) -> dict:
    """Import the demo traces and their ratings into ``workspace_id``; the import summary."""
    auth.require(db, actor, workspace_id, "import")
    from forge.review.ratings import get_or_create_eval_set
    from forge.traces.files import import_files

    get_or_create_eval_set(db, actor, workspace_id, DEMO_EVAL_SET, DEMO_CRITERION)
    return import_files(db, actor, workspace_id, [DEMO_FILE], eval_set=DEMO_EVAL_SET, progress=progress)
