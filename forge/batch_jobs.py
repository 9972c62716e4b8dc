"""Batch runs and their judging as jobs: the batch feature's job kinds, registered with :mod:`forge.jobs`."""

from __future__ import annotations

from collections.abc import Sequence

from forge import jobs
from forge.auth import User
from forge.store import Database, new_id
from forge.store.access import Access
from forge.store.types import Progress

BATCH_RUN = "batch-run"
BATCH_JUDGE = "batch-judge"


def _run(
    access: Access,
    progress: Progress,
    batch_id: str,
    prompt_version_id: str,
    dataset_version_id: str,
    models: list[str],
    max_cost_usd: float | None = None,
    concurrency: int | None = None,
    label: str | None = None,
) -> dict:
    from forge import batch
    from forge.library import datasets, prompts

    prompt = prompts.get_by_id(access, prompt_version_id)
    dataset = datasets.open_version_id(access, dataset_version_id)
    plan = batch.plan_batch(access, prompt, dataset, models)
    outcome = batch.run_batch(
        access, plan, max_cost_usd=max_cost_usd, concurrency=concurrency, progress=progress, batch_id=batch_id
    )
    return {**outcome.to_json(), "models": [s.to_json() for s in outcome.summaries(plan.models)]}


def _judge(access: Access, progress: Progress, batch_id: str, eval_set_id: str, label: str | None = None) -> dict:
    from forge import batch

    out = batch.judge_batch(access, batch_id, eval_set_id, progress=progress)
    return {
        "batch_id": batch_id,
        "eval_run_id": out.eval_run_id,
        "isolation": out.isolation,
        "missing": out.missing,
        "outputs": out.outputs,
        "evals": out.evals,
        "seconds": round(out.seconds, 3),
    }


jobs.register(
    jobs.JobKind(
        BATCH_RUN,
        _run,
        action="run",
        needs=lambda params: ("import",),  # every output becomes a trace
        message=lambda params: f"Batch: {params.get('label') or 'running'}",
    )
)
jobs.register(
    jobs.JobKind(
        BATCH_JUDGE,
        _judge,
        action="run",
        message=lambda params: f"Judging batch {params.get('label') or params.get('batch_id', '')[:8]}",
    )
)


def start_batch(
    db: Database,
    actor: User,
    workspace_id: str,
    prompt_version_id: str,
    dataset_version_id: str,
    models: Sequence[str],
    max_cost_usd: float | None = None,
    concurrency: int | None = None,
    label: str | None = None,
) -> tuple[str, jobs.Job]:
    """Start a batch run as a job; (the batch id, the job)."""
    batch_id = new_id()
    job = jobs.submit(
        db,
        actor,
        workspace_id,
        BATCH_RUN,
        batch_id=batch_id,
        prompt_version_id=prompt_version_id,
        dataset_version_id=dataset_version_id,
        models=list(models),
        max_cost_usd=max_cost_usd,
        concurrency=concurrency,
        label=label,
    )
    return batch_id, job


def start_judge(
    db: Database, actor: User, workspace_id: str, batch_id: str, eval_set_id: str, label: str | None = None
) -> jobs.Job:
    """Judge a batch with an eval set's kept evals (in the sandbox) as a job."""
    return jobs.submit(db, actor, workspace_id, BATCH_JUDGE, batch_id=batch_id, eval_set_id=eval_set_id, label=label)


def batch_jobs(db: Database, actor: User, workspace_id: str, limit: int = 10) -> list[jobs.Job]:
    return jobs.recent(db, actor, workspace_id, limit=limit, kinds=(BATCH_RUN, BATCH_JUDGE))
