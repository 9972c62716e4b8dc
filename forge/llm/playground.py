"""The playground's one call: check access, render, fan out, keep every result (page and CLI share it)."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

from forge import auth
from forge.auth import User
from forge.llm.base import RunResult
from forge.llm.prompts import PromptSpec
from forge.llm.retry import RetryPolicy
from forge.llm.runner import FanoutDelta, ResultCallback, run_fanout
from forge.store import Database, new_id


@dataclass
class PlaygroundRun:
    batch_id: str
    run_ids: list[str]
    results: list[RunResult]


def run_prompt(
    db: Database,
    actor: User,
    workspace_id: str,
    models: list[str],
    spec: PromptSpec,
    on_delta: FanoutDelta | None = None,
    on_result: ResultCallback | None = None,
    policy: RetryPolicy | None = None,
) -> PlaygroundRun:
    """Run ``spec`` on every model at once and persist each result (as a run and a trace).

    Raises PromptError when the prompt cannot be rendered (nothing is sent then)
    and PermissionDenied when ``actor`` may not run in the workspace.
    """
    from forge.store import runs

    auth.require(db, actor, workspace_id, "run")
    request = spec.render()
    results = run_fanout(models, request, on_delta=on_delta, on_result=on_result, policy=policy)
    batch_id = new_id()
    run_ids = runs.save_runs(db, actor, workspace_id, spec, request, results, batch_id)
    return PlaygroundRun(batch_id, run_ids, results)


def rerun(
    db: Database,
    actor: User,
    workspace_id: str,
    run_id: str,
    models: list[str] | None = None,
    on_delta: FanoutDelta | None = None,
    policy: RetryPolicy | None = None,
) -> PlaygroundRun:
    """Run a stored run's prompt again (on its model, or on ``models``) as a new batch."""
    from forge.store import runs

    run = runs.get_run(db, actor, workspace_id, run_id)
    if run is None:
        raise LookupError(f"No run {run_id!r} in this workspace")
    return run_prompt(
        db, actor, workspace_id, models or [run["model"]], runs.spec_from_run(run), on_delta, policy=policy
    )


class LiveRun:
    """A fan-out running in a background thread, observed through :meth:`events`.

    For UIs that must not be touched from worker threads (Streamlit): the
    caller's own thread iterates ``events()`` and updates the screen.
    Events: ``("delta", model_index, text)``, ``("result", model_index, RunResult)``,
    ``("done", PlaygroundRun, None)`` or ``("failed", message, None)``.
    """

    def __init__(
        self,
        db: Database,
        actor: User,
        workspace_id: str,
        models: list[str],
        spec: PromptSpec,
        policy: RetryPolicy | None = None,
    ):
        self.models = list(models)
        self._queue: queue.Queue = queue.Queue()
        # Models may repeat; the same name streams into each of its slots.
        slots: dict[str, list[int]] = {}
        for i, m in enumerate(self.models):
            slots.setdefault(m.strip(), []).append(i)

        def on_delta(model: str, text: str) -> None:
            for i in slots.get(model, []):
                self._queue.put(("delta", i, text))

        def on_result(res: RunResult) -> None:
            for i in slots.get(res.model, []):
                self._queue.put(("result", i, res))

        def work() -> None:
            try:
                out = run_prompt(db, actor, workspace_id, self.models, spec, on_delta, on_result, policy)
                self._queue.put(("done", out, None))
            except Exception as exc:  # shown to the user as a message, never a traceback
                self._queue.put(("failed", str(exc) or type(exc).__name__, None))

        self._thread = threading.Thread(target=work, name="forge-playground", daemon=True)
        self._thread.start()

    def events(self, poll_s: float = 0.05):
        """Yield events until the run is done or failed."""
        while True:
            try:
                event = self._queue.get(timeout=poll_s)
            except queue.Empty:
                continue
            yield event
            if event[0] in ("done", "failed"):
                return
