"""Eval runs as jobs: the eval feature's job kind, registered with :mod:`forge.jobs`.

``forge.evals`` knows no jobs; this module runs :func:`forge.evals.runs.run_stored`
in a job thread (progress and cancel through the job) and gives the pages one call.
"""

from __future__ import annotations

from collections.abc import Sequence

from forge import jobs
from forge.auth import User
from forge.store import Database
from forge.store.access import Access
from forge.store.types import Progress

EVAL_RUN = "eval-run"


def _run(
    access: Access,
    progress: Progress,
    eval_set_id: str,
    eval_ids: list[str] | None,
    scope: str,
    workers: int | None = None,
    page_size: int | None = None,
    label: str | None = None,
) -> dict:
    from forge.evals import runs

    options = {"page_size": page_size} if page_size else {}
    outcome = runs.run_stored(access, eval_set_id, eval_ids, scope, workers=workers, progress=progress, **options)
    return {
        "run_id": outcome.run_id,
        "status": outcome.status,
        "isolation": outcome.isolation,
        "missing": outcome.missing,
        "traces": outcome.traces,
        "evals": outcome.evals,
        "verdicts": outcome.done,
        "seconds": round(outcome.seconds, 3),
    }


jobs.register(
    jobs.JobKind(
        EVAL_RUN,
        _run,
        action="run",
        message=lambda params: f"Running evals on {params.get('label') or 'traces'}",
        shown=lambda params: {k: params.get(k) for k in ("eval_set_id", "eval_ids", "scope", "label")},
    )
)


def start_eval_run(
    db: Database,
    actor: User,
    workspace_id: str,
    eval_set_id: str,
    eval_ids: Sequence[str] | None = None,
    scope: str = "set",
    workers: int | None = None,
    page_size: int | None = None,
    label: str | None = None,
) -> jobs.Job:
    """Run evals (their current versions) over the set's traces (scope 'set') or the workspace's as a job."""
    return jobs.submit(
        db,
        actor,
        workspace_id,
        EVAL_RUN,
        eval_set_id=eval_set_id,
        eval_ids=list(eval_ids) if eval_ids is not None else None,
        scope=scope,
        workers=workers,
        page_size=page_size,
        label=label,
    )


def eval_run_jobs(db: Database, actor: User, workspace_id: str, limit: int = 10) -> list[jobs.Job]:
    """The workspace's latest eval-run jobs, newest first."""
    return jobs.recent(db, actor, workspace_id, limit=limit, kinds=(EVAL_RUN,))
