"""The typed contracts at Forge's boundaries: the unified trace, import summaries, progress.

They sit at the floor so every layer (the store included) speaks them without importing
upward. ``Trace`` is DESIGN.md's unified trace: a ``TypedDict``, so evals and JSON still
receive a plain dict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

# "otel": sent by an application over OpenTelemetry (forge.otel_api), not fetched from a Langfuse project.
SOURCES = ("langfuse", "file", "playground", "otel")
Source = Literal["langfuse", "file", "playground", "otel"]

# Progress callbacks everywhere in Forge: (done, total or None, message or None).
Progress = Callable[[int, "int | None", "str | None"], None]


class Step(TypedDict):
    """One step (observation) of a trace."""

    id: str
    parent_id: str | None
    type: str
    name: str | None
    input: Any
    output: Any
    model: str | None
    start_time: str | None
    end_time: str | None
    level: str | None
    status_message: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None


class Trace(TypedDict):
    """DESIGN.md's unified trace: what importers produce, the store keeps and evals receive."""

    id: str
    name: str | None
    timestamp: str | None  # ISO-8601, UTC, "…Z"
    input: Any  # as the source had it
    output: Any
    input_text: str  # flattened text, always present
    output_text: str
    steps: list[Step]
    metadata: dict[str, Any]
    tags: list[str]
    user_id: str | None
    session_id: str | None
    latency_ms: float | None
    cost_usd: float | None
    source: Source
    source_id: str


@dataclass(frozen=True)
class RowError:
    """A problem with one row (or a whole file, ``line`` None) of an import."""

    file: str
    line: int | None
    field: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


@dataclass
class RatingsSummary:
    """What an import did with the ratings it carried."""

    stored: int = 0
    skipped: int = 0
    eval_set: str | None = None
    skipped_reasons: dict[str, int] | None = None  # Langfuse scores: why each was not a rating

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stored": self.stored, "skipped": self.skipped, "eval_set": self.eval_set}
        if self.skipped_reasons is not None:
            out["skipped_reasons"] = dict(self.skipped_reasons)
        return out


@dataclass
class ImportSummary(Mapping[str, Any]):
    """The outcome of `forge import` / `forge import-langfuse`; ``to_json()`` is what they print.

    Reads like that JSON too (``summary["imported"]``), so a job's stored result and the
    value an importer returns are used the same way.
    """

    imported: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    ratings: RatingsSummary = field(default_factory=RatingsSummary)
    api: str | None = None  # Langfuse: "v2" or "v1"
    requests: int | None = None  # Langfuse: HTTP requests made

    def error(self, file: str, line: int | None, field: str | None, message: str) -> None:
        self.errors.append(RowError(file, line, field, message))

    def warn(self, file: str, line: int | None, field: str | None, message: str) -> None:
        self.warnings.append(RowError(file, line, field, message))

    @property
    def nothing_valid(self) -> bool:
        """True when no row of the input was usable (the CLI exits 2 then)."""
        return self.imported + self.updated + self.skipped == 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "imported": self.imported,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": self.failed,
            "errors": [e.to_json() for e in self.errors],
            "warnings": [w.to_json() for w in self.warnings],
            "ratings": self.ratings.to_json(),
        }
        if self.api is not None:
            out["api"] = self.api
        if self.requests is not None:
            out["requests"] = self.requests
        return out

    to_dict = to_json  # what jobs store as a job's result

    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_json())

    def __len__(self) -> int:
        return len(self.to_json())
