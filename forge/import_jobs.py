"""Trace imports as jobs: the import feature's job kinds, registered with :mod:`forge.jobs`.

``forge.jobs`` knows no importer; this module tells it how to run the two kinds of
import (uploaded files, Langfuse), and gives the pages one call for each.
"""

from __future__ import annotations

from forge import jobs
from forge.auth import User
from forge.store import Database
from forge.store.access import Access
from forge.store.types import ImportSummary, Progress

FILE_IMPORT = "import"
LANGFUSE_IMPORT = "import-langfuse"


def _import_files(
    access: Access,
    progress: Progress,
    uploads: list[tuple[str, bytes]],
    files: list[str],
    eval_set: str | None,
    criterion: str = "",
) -> ImportSummary:
    from forge.traces import files as file_importer

    return file_importer.import_uploads(access, uploads, eval_set=eval_set, progress=progress, criterion=criterion)


def _import_langfuse(access: Access, progress: Progress, **options) -> ImportSummary:
    from forge.traces import langfuse

    return langfuse.import_langfuse(access, progress=progress, **options)


def _files_label(params: dict) -> str:
    names = params["files"]
    return f"Importing {names[0] if len(names) == 1 else f'{len(names)} files'}"


def _rates_with(params: dict) -> tuple[str, ...]:
    # Ratings go into an eval set only with the right to rate.
    return ("rate",) if params.get("eval_set") or params.get("score") else ()


jobs.register(
    jobs.JobKind(
        FILE_IMPORT,
        _import_files,
        action="import",
        needs=_rates_with,
        message=_files_label,
        shown=lambda params: {"files": params["files"], "eval_set": params["eval_set"]},
    )
)
jobs.register(
    jobs.JobKind(
        LANGFUSE_IMPORT,
        _import_langfuse,
        action="import",
        needs=lambda params: ("rate",) if params.get("score") else (),
        message=lambda params: "Importing from Langfuse",
    )
)


def start_file_import(
    db: Database,
    actor: User,
    workspace_id: str,
    uploads: list[tuple[str, bytes]],
    eval_set: str | None = None,
    criterion: str = "",
) -> jobs.Job:
    """Import uploaded files (name, bytes) as one job; its result is the merged summary.

    ``criterion`` describes the eval set when this import creates it.
    """
    names = [name for name, _ in uploads]
    return jobs.submit(
        db, actor, workspace_id, FILE_IMPORT, uploads=uploads, files=names, eval_set=eval_set, criterion=criterion
    )


def start_langfuse_import(
    db: Database,
    actor: User,
    workspace_id: str,
    since: str | None = None,
    limit: int | None = None,
    score: str | None = None,
    eval_set: str | None = None,
) -> jobs.Job:
    """Import new traces from the configured Langfuse as a job."""
    return jobs.submit(
        db, actor, workspace_id, LANGFUSE_IMPORT, since=since, limit=limit, score=score, eval_set=eval_set
    )
