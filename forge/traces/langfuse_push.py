"""Push scores back to Langfuse: ``POST /api/public/scores`` over plain httpx, the project keys as basic auth.

Each score carries a deterministic ``id`` (the caller makes it, e.g. uuid5 of workspace + trace + name):
Langfuse upserts scores by id, so pushing again updates the same score and never adds a second one.
429 and 5xx answers are retried, waiting what ``Retry-After`` asks (at most a minute) or 1, 2, 4... s.
A score that still fails is counted and its message kept; the push goes on with the others.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from forge.store.values import retry_after
from forge.traces.langfuse import LangfuseError, _settings, connection_status

SCORES_PATH = "api/public/scores"
MAX_RETRIES = 5
MAX_RETRY_DELAY = 60.0
WORKERS = 4
_RETRY_STATUSES = (408, 409, 429)


@dataclass
class PushSummary:
    """What a push did: scores pushed (created or updated), values skipped, scores failed (with why)."""

    pushed: int = 0
    skipped: int = 0
    failed: int = 0
    retries: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "pushed": self.pushed,
            "skipped": self.skipped,
            "failed": self.failed,
            "retries": self.retries,
            "errors": self.errors[:20],
        }


def _delay(resp: httpx.Response, attempt: int) -> float:
    wait = retry_after(resp.headers)
    if wait is not None:
        return min(wait, MAX_RETRY_DELAY)
    return min(1.0 * 2**attempt, MAX_RETRY_DELAY) * (1 + (random.random() - 0.5) * 0.2)


def push_scores(
    scores: Sequence[dict],
    *,
    skipped: int = 0,
    progress: Callable[[int, int | None, str | None], None] | None = None,
) -> PushSummary:
    """POST each score (``{"id", "traceId", "name", "value", "dataType", "comment"}``); a summary, never a raise
    for one bad score. Raises LangfuseError only when Langfuse is not configured or refuses the keys."""
    status = connection_status()
    if not status["configured"]:
        raise LangfuseError("Langfuse is not configured: set " + ", ".join(status["missing"]))
    host, pk, sk = _settings()
    summary = PushSummary(skipped=skipped)
    lock = threading.Lock()
    refused: list[str] = []
    done = 0

    def send(client: httpx.Client, score: dict) -> None:
        nonlocal done
        body = {k: v for k, v in score.items() if v is not None}
        outcome, message, retries = "failed", None, 0
        for attempt in range(MAX_RETRIES + 1):
            if refused:
                message = refused[0]
                break
            try:
                resp = client.post(SCORES_PATH, json=body)
            except httpx.HTTPError as exc:
                message = f"cannot reach Langfuse at {host}: {exc.__class__.__name__}"
                break
            if resp.status_code < 300:
                outcome = "pushed"
                break
            if resp.status_code in (401, 403):
                message = f"Langfuse at {host} refused the keys (HTTP {resp.status_code})"
                refused.append(message)
                break
            if attempt < MAX_RETRIES and (resp.status_code >= 500 or resp.status_code in _RETRY_STATUSES):
                retries += 1
                time.sleep(_delay(resp, attempt))
                continue
            message = f"score {score.get('name')!r} on trace {score.get('traceId')}: HTTP {resp.status_code}"
            break
        with lock:
            summary.retries += retries
            done += 1
            if outcome == "pushed":
                summary.pushed += 1
            else:
                summary.failed += 1
                if message and message not in summary.errors:
                    summary.errors.append(message)
            if progress:
                progress(done, len(scores), None)

    with httpx.Client(base_url=host + "/", auth=(pk, sk), headers={"X-Langfuse-Public-Key": pk}, timeout=60) as client:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(lambda s: send(client, s), scores))
    if refused and not summary.pushed:
        raise LangfuseError(refused[0])
    return summary
