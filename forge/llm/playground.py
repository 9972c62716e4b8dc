"""The playground's one call: render, fan out, keep every result (page and CLI share it)."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

from forge.llm.base import Request, RunResult
from forge.llm.prompts import ContextBlock, PromptSpec
from forge.llm.retry import RetryPolicy
from forge.llm.runner import FanoutDelta, ResultCallback, run_fanout
from forge.store import new_id, utcnow
from forge.store import runs as run_store
from forge.store.access import Access


@dataclass
class PlaygroundRun:
    batch_id: str
    run_ids: list[str]
    results: list[RunResult]


def run_prompt(
    access: Access,
    models: list[str],
    spec: PromptSpec,
    on_delta: FanoutDelta | None = None,
    on_result: ResultCallback | None = None,
    policy: RetryPolicy | None = None,
    prompt_version_id: str | None = None,
) -> PlaygroundRun:
    """Run ``spec`` on every model at once and persist each result (as a run and a trace).

    ``prompt_version_id``: the saved prompt version ``spec`` was made from, recorded on each run.

    Raises PromptError when the prompt cannot be rendered (nothing is sent then)
    and PermissionDenied when ``access`` does not allow running in the workspace.
    """
    access.need("run")
    request = spec.render()
    results = run_fanout(models, request, on_delta=on_delta, on_result=on_result, policy=policy)
    batch_id = new_id()
    run_ids = run_store.save_runs(access, run_rows(access, spec, request, results, batch_id, prompt_version_id))
    return PlaygroundRun(batch_id, run_ids, results)


def run_rows(
    access: Access,
    spec: PromptSpec,
    request: Request,
    results: list[RunResult],
    batch_id: str,
    prompt_version_id: str | None = None,
) -> list[dict]:
    """One row of the ``runs`` table per result, all of one batch (made from ``prompt_version_id`` if given)."""
    now = utcnow()
    return [
        {
            "id": new_id(),
            "workspace_id": access.workspace_id,
            "user_id": access.user.id,
            "batch_id": batch_id,
            "created_at": now,
            "model": res.model,
            "provider": res.provider or res.model.partition("/")[0],
            "system_prompt": request.system,
            "prompt_template": spec.template,
            "prompt": request.prompt,
            "variables": spec.variables,
            "context": spec.context_dicts(),
            "params": spec.params(),
            "output": res.output,
            "input_tokens": res.input_tokens,
            "output_tokens": res.output_tokens,
            "tokens_estimated": res.tokens_estimated,
            "latency_ms": res.latency_ms,
            "ttft_ms": res.ttft_ms,
            "cost_usd": res.cost_usd,
            "error": res.error,
            "trace_id": None,
            "prompt_version_id": prompt_version_id,
        }
        for res in results
    ]


def rerun(
    access: Access,
    run_id: str,
    models: list[str] | None = None,
    on_delta: FanoutDelta | None = None,
    policy: RetryPolicy | None = None,
) -> PlaygroundRun:
    """Run a stored run's prompt again (on its model, or on ``models``) as a new batch."""
    run = run_store.get_run(access, run_id)
    if run is None:
        raise LookupError(f"No run {run_id!r} in this workspace")
    # The same prompt as before: a run of a saved prompt version stays one.
    return run_prompt(
        access,
        models or [run["model"]],
        spec_from_run(run),
        on_delta,
        policy=policy,
        prompt_version_id=run.get("prompt_version_id"),
    )


def spec_from_run(run: dict) -> PromptSpec:
    """The PromptSpec a run was made with, to run it again."""
    params = run.get("params") or {}
    return PromptSpec(
        template=run["prompt_template"],
        variables=dict(run.get("variables") or {}),
        context=[ContextBlock(c.get("name", ""), c.get("text", "")) for c in run.get("context") or []],
        system=run.get("system_prompt"),
        temperature=params.get("temperature"),
        max_tokens=params.get("max_tokens"),
        stream=params.get("stream", True),
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
        access: Access,
        models: list[str],
        spec: PromptSpec,
        policy: RetryPolicy | None = None,
        prompt_version_id: str | None = None,
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
                out = run_prompt(access, self.models, spec, on_delta, on_result, policy, prompt_version_id)
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
