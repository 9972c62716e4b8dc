"""One rater's review session: the queue, rate / skip / back / forward / undo / jump, and progress.

The session is a plain value kept by the page between runs (no Streamlit here). Every rating is written to
the database the moment it is given (``forge.store.ratings.rate``, retried when the database is busy); the
session only remembers the path taken (``trail``), what was skipped, and what undo puts back.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from forge.store import ratings as rating_store
from forge.store.access import Access
from forge.store.traces import TraceFilters

RATING_VALUES = ("pass", "fail", "neutral")
ORDERS = {
    "newest": "Unrated, newest first",
    "oldest": "Unrated, oldest first",
    "random": "Unrated, random (seeded)",
    "informative": "Most informative first",
}
# How many traces one queue query prefetches (each is re-checked before it is shown).
BATCH = 25
# Warn when one class holds less than this share of the rated (pass/fail) traces.
MIN_CLASS_SHARE = 0.25


@dataclass
class Undo:
    """What undo puts back: the rating a trace had before (None: it had none) and where it sat in the trail."""

    trace_id: str
    previous: dict | None
    position: int


@dataclass
class ReviewSession:
    """A rater's pass through one eval set's queue."""

    eval_set_id: str
    order: str = "newest"
    seed: int = field(default_factory=lambda: random.randrange(1_000_000))
    filters: TraceFilters = field(default_factory=TraceFilters)
    trail: list[str] = field(default_factory=list)  # traces shown, in order; trail[position] is the current one
    position: int = 0
    skipped: list[str] = field(default_factory=list)
    undo_stack: list[Undo] = field(default_factory=list)
    left: int = 0  # traces in the queue when the current one was picked (it included)
    rated: int = 0  # ratings given in this session (undo takes one back)
    seconds: list[float] = field(default_factory=list)  # time spent on each rated item
    shown_at: float = field(default_factory=time.monotonic)
    exhausted: bool = False  # the queue had nothing more at the last look
    upcoming: list[str] = field(default_factory=list)  # prefetched next traces of the queue, in order

    @property
    def current(self) -> str | None:
        return self.trail[self.position] if 0 <= self.position < len(self.trail) else None

    @property
    def seconds_per_item(self) -> float | None:
        return sum(self.seconds) / len(self.seconds) if self.seconds else None


def start(access: Access, eval_set_id: str, order: str = "newest", filters: TraceFilters | None = None, seed=None):
    """A new session on ``eval_set_id`` showing the first trace of its queue."""
    if order not in ORDERS:
        raise ValueError(f"Queue order must be one of {', '.join(ORDERS)}; got '{order}'.")
    session = ReviewSession(eval_set_id, order, filters=filters or TraceFilters())
    if seed is not None:
        session.seed = int(seed)
    fetch_next(access, session)
    return session


def _store_order(access: Access, session: ReviewSession, eval_set: dict) -> tuple[str, int]:
    """The store's order for the session's choice: 'informative' before any eval verdict is 'coverage'."""
    if session.order != "informative":
        return session.order, 0
    if rating_store.has_current_verdicts(access, eval_set["id"]):
        return "informative", 0
    # Alternate between the extremes: the rater's n-th rating in this set asks for the n-th pole.
    return "coverage", rating_store.rater_count(access, eval_set["id"])


def fetch_next(access: Access, session: ReviewSession) -> str | None:
    """Append the queue's next trace to the trail and show it; None (and ``exhausted``) when the queue is empty.

    The queue is read a batch at a time (one query over every trace, with the count left); each prefetched
    trace is checked again with a point query before it is shown, since other raters rate at the same time.
    """
    eval_set = rating_store.get_eval_set(access, session.eval_set_id)
    if eval_set is None:
        raise ValueError("No such eval set in this workspace.")
    seen = set(session.skipped) | set(session.trail)
    trace_id = None
    while session.upcoming:
        candidate = session.upcoming.pop(0)
        session.left = max(0, session.left - 1)
        if candidate not in seen and rating_store.still_queued(access, eval_set, candidate):
            trace_id = candidate
            break
    if trace_id is None:
        order, pole = _store_order(access, session, eval_set)
        batch, left = rating_store.queue_batch(
            access, eval_set, session.filters, order, seed=session.seed, exclude=list(seen), pole=pole,
            limit=BATCH,
        )  # fmt: skip
        trace_id = batch[0] if batch else None
        session.upcoming, session.left = batch[1:], left
    session.exhausted = trace_id is None
    if trace_id:
        session.trail.append(trace_id)
        session.position = len(session.trail) - 1
    else:
        session.position = len(session.trail)
    session.shown_at = time.monotonic()
    return trace_id


def _advance(access: Access, session: ReviewSession) -> None:
    if session.position + 1 < len(session.trail):
        session.position += 1
        session.shown_at = time.monotonic()
    else:
        fetch_next(access, session)


def rate(access: Access, session: ReviewSession, value: str, note: str | None = None) -> None:
    """Rate the current trace (saved at once), remember it for undo, and move to the next one."""
    trace_id = session.current
    if trace_id is None:
        raise ValueError("There is no trace to rate: the queue is empty.")
    if value not in RATING_VALUES:
        raise ValueError(f"A rating is pass, fail or neutral; got '{value}'.")
    note = (note or "").strip() or None
    previous = rating_store.rate(access, session.eval_set_id, trace_id, value, note)
    session.undo_stack.append(Undo(trace_id, previous, session.position))
    session.rated += 1
    session.seconds.append(time.monotonic() - session.shown_at)
    _advance(access, session)


def save_note(access: Access, session: ReviewSession, trace_id: str, note: str | None) -> bool:
    """Change the note of this rater's rating of ``trace_id``; False when it is not rated yet (the note then
    goes with the rating)."""
    return rating_store.set_note(access, session.eval_set_id, trace_id, (note or "").strip() or None)


def skip(access: Access, session: ReviewSession) -> None:
    """Leave the current trace unrated for this session and move on."""
    trace_id = session.current
    if trace_id is None:
        return
    if trace_id not in session.skipped:
        session.skipped.append(trace_id)
    _advance(access, session)


def back(session: ReviewSession) -> None:
    """Show the previous trace of this session (its rating can be changed)."""
    if session.position > 0:
        session.position -= 1
        session.shown_at = time.monotonic()


def forward(access: Access, session: ReviewSession) -> None:
    """Show the next trace: the following one of the trail, else the queue's next."""
    if session.current is not None or not session.exhausted:
        _advance(access, session)


def jump(session: ReviewSession, trace_id: str) -> None:
    """Show ``trace_id`` (from the rater's history) now; after rating it, the session goes on where it was."""
    if trace_id in session.trail:
        session.position = session.trail.index(trace_id)
    else:
        position = min(session.position, len(session.trail))
        session.trail.insert(position, trace_id)
        session.position = position
    session.shown_at = time.monotonic()


def undo(access: Access, session: ReviewSession) -> str | None:
    """Take back the last rating of this session (the earlier rating returns, or none) and show that trace."""
    if not session.undo_stack:
        return None
    entry = session.undo_stack.pop()
    rating_store.restore_rating(access, session.eval_set_id, entry.trace_id, entry.previous)
    session.rated = max(0, session.rated - 1)
    if session.seconds:
        session.seconds.pop()
    if entry.trace_id in session.trail:
        session.position = session.trail.index(entry.trace_id)
    else:
        jump(session, entry.trace_id)
    session.exhausted = False
    session.shown_at = time.monotonic()
    return entry.trace_id


@dataclass(frozen=True)
class Progress:
    """Ratings against the target per class, the class-balance warning, this session's pace, the queue left."""

    target_per_class: int
    passes: int
    fails: int
    neutrals: int
    ties: int
    session_count: int
    seconds_per_item: float | None
    left: int

    @property
    def warning(self) -> str | None:
        rated = self.passes + self.fails
        if rated < 4:
            return None
        for name, n in (("pass", self.passes), ("fail", self.fails)):
            if n < MIN_CLASS_SHARE * rated:
                return (
                    f"Only {n} of {rated} rated traces are '{name}' (under {MIN_CLASS_SHARE:.0%}): evals learn "
                    f"little about '{name}' — look for {name} examples (filters, or 'Most informative first')."
                )
        return None


def progress(access: Access, session: ReviewSession, eval_set: dict) -> Progress:
    """The progress panel's figures for this session."""
    counts = rating_store.label_counts(access, session.eval_set_id)
    return Progress(
        int(eval_set.get("target_per_class") or 20),
        counts["pass"],
        counts["fail"],
        counts["neutral"],
        counts["ties"],
        session.rated,
        session.seconds_per_item,
        session.left,
    )
