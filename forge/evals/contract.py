"""The eval contract: what an eval is, what it returns, and what runs it.

An eval is one Python source file defining ``evaluate(trace: dict) -> bool | tuple[bool, str]``.
``True`` means the trace meets the criterion (agrees with a thumbs up). Every eval is
untrusted code: it runs only through an :class:`EvalRunner` (the sandbox).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from forge.store.types import Progress

ALLOWED_IMPORTS = frozenset(
    {
        "json",
        "re",
        "math",
        "statistics",
        "string",
        "difflib",
        "collections",
        "itertools",
        "functools",
        "datetime",
        "typing",
        "unicodedata",
        "textwrap",
        "html",
    }
)
DEFAULT_TIMEOUT_S = 2.0
DEFAULT_MEMORY_MB = 256
MAX_SOURCE_BYTES = 256 * 1024
ENTRY_POINT = "evaluate"


# Metadata keys that carry a human label rather than describe the trace (HaluEval's ``label_raw`` and
# ``hallucination_spans``, a file's ``rating``...). Importers keep them for analysts, but an eval must
# judge the trace, not read its label: an eval that did would agree with the humans perfectly and be chosen.
LABEL_KEYS = frozenset(
    {
        "rating",
        "ratings",
        "label",
        "labels",
        "label_raw",
        "human_label",
        "human_rating",
        "gold",
        "gold_label",
        "ground_truth",
        "hallucination",
        "is_hallucination",
        "hallucination_spans",
        "annotation",
        "annotations",
    }
)


def withhold_labels(trace: Mapping[str, Any]) -> Mapping[str, Any]:
    """``trace`` as evals see it: without label-carrying metadata keys (a copy only when there are some)."""
    metadata = trace.get("metadata")
    if isinstance(metadata, Mapping) and any(str(k).lower() in LABEL_KEYS for k in metadata):
        return {**trace, "metadata": {k: v for k, v in metadata.items() if str(k).lower() not in LABEL_KEYS}}
    return trace


@dataclass(frozen=True, slots=True)
class Verdict:
    """One eval's outcome on one trace: ``verdict`` is None exactly when ``error`` is set."""

    verdict: bool | None
    reason: str | None = None
    error: str | None = None
    duration_ms: float = 0.0

    @property
    def is_error(self) -> bool:
        return self.verdict is None

    def to_json(self, trace_id: str | None = None) -> dict[str, Any]:
        """The JSON form `forge eval run` prints per trace."""
        out: dict[str, Any] = {} if trace_id is None else {"trace_id": trace_id}
        out.update(verdict=self.verdict, reason=self.reason, error=self.error, duration_ms=round(self.duration_ms, 3))
        return out

    @classmethod
    def failed(cls, error: str, duration_ms: float = 0.0) -> Verdict:
        return cls(verdict=None, reason=None, error=error, duration_ms=duration_ms)


# Progress callbacks everywhere in Forge: (done, total or None, message or None); one type, from the floor.
ProgressFn = Progress


class EvalRunner(Protocol):
    """Runs eval sources over traces; failures are error verdicts, never exceptions."""

    def run(
        self,
        sources: Mapping[str, str],
        traces: Sequence[Mapping[str, Any]],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        progress: ProgressFn | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> dict[str, list[Verdict]]:
        """Return, for each source key, one verdict per trace, in trace order."""
        ...
