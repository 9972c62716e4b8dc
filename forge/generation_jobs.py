"""Eval generation, synthesis and refinement as jobs: progress, cancel, and a failure kept as data.

``forge.jobs`` knows nothing of evals; this module registers the kinds and gives pages one call each.
Cancelling stops between model calls and sandbox runs; what was made before is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from forge import jobs
from forge.auth import User
from forge.evals import authoring
from forge.store import Database
from forge.store.access import Access
from forge.store.types import Progress

GENERATE = "eval-generate"
SYNTHESISE = "eval-synth"
REFINE = "eval-refine"
KINDS = (GENERATE, SYNTHESISE, REFINE)


def _cancel_probe(progress: Progress) -> tuple[Progress, Callable[[], bool]]:
    """A progress callback that never raises and a ``cancelled()`` that asks the job runner."""
    state: dict[str, Any] = {"cancelled": False, "last": (0, None, None)}

    def report(done: int, total: int | None = None, message: str | None = None) -> None:
        state["last"] = (done, total, message)
        try:
            progress(done, total, message)
        except jobs.Cancelled:
            state["cancelled"] = True

    def cancelled() -> bool:
        if not state["cancelled"]:
            report(*state["last"])
        return state["cancelled"]

    return report, cancelled


def _finish(summary: dict, cancelled: Callable[[], bool]) -> dict:
    if summary.get("status") == "cancelled" or cancelled():
        kept = sum(1 for c in summary.get("candidates") or [] if c.get("eval_id"))
        raise jobs.Cancelled(f"Cancelled by a user; {kept} candidate(s) made before it were kept.")
    if summary.get("status") == "failed" and not summary.get("candidates"):
        raise ValueError(summary.get("error") or "generation failed")
    return summary


def _generate(access: Access, progress: Progress, eval_set_id: str, model: str | None, k: int = 5) -> dict:
    report, cancelled = _cancel_probe(progress)
    summary = authoring.generate_set(access, eval_set_id, model, k=k, progress=report, cancelled=cancelled)
    return _finish(summary, cancelled)


def _synthesise(access: Access, progress: Progress, eval_set_id: str) -> dict:
    report, cancelled = _cancel_probe(progress)
    summary = authoring.synthesise_set(access, eval_set_id, progress=report, cancelled=cancelled)
    return _finish(summary, cancelled)


def _refine(access: Access, progress: Progress, eval_id: str, model: str | None = None) -> dict:
    report, cancelled = _cancel_probe(progress)
    summary = authoring.refine(access, eval_id, model=model, progress=report, cancelled=cancelled)
    if summary.get("status") == "failed":
        raise ValueError(summary.get("error") or "refinement failed")
    return summary


jobs.register(
    jobs.JobKind(
        GENERATE,
        _generate,
        action="edit",
        needs=lambda params: ("run",),
        message=lambda params: f"Generating evals with {params.get('model') or 'the default model'}",
    )
)
jobs.register(jobs.JobKind(SYNTHESISE, _synthesise, action="edit", message=lambda params: "Synthesising evals"))
jobs.register(
    jobs.JobKind(
        REFINE,
        _refine,
        action="edit",
        needs=lambda params: ("run",),
        message=lambda params: "Refining an eval from its contradictions",
    )
)


def start_generation(
    db: Database, actor: User, workspace_id: str, eval_set_id: str, model: str | None, k: int = 5
) -> jobs.Job:
    """Generate evals for a set with an LLM, as a job."""
    return jobs.submit(db, actor, workspace_id, GENERATE, eval_set_id=eval_set_id, model=model, k=k)


def start_synthesis(db: Database, actor: User, workspace_id: str, eval_set_id: str) -> jobs.Job:
    """Synthesise evals for a set without an LLM, as a job."""
    return jobs.submit(db, actor, workspace_id, SYNTHESISE, eval_set_id=eval_set_id)


def start_refinement(db: Database, actor: User, workspace_id: str, eval_id: str, model: str | None = None) -> jobs.Job:
    """A new version of one eval from its contradictions, as a job."""
    return jobs.submit(db, actor, workspace_id, REFINE, eval_id=eval_id, model=model)
