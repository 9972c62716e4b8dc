"""Eval sets and ratings: one rater's pass/fail/neutral verdict on a trace for an eval set.

The rules (what a rating value may be, who rates) live here; the rows in ``forge.store.ratings``.
"""

from __future__ import annotations

from typing import Any

from forge.store import ratings as rating_store
from forge.store.access import Access

RATING_VALUES = ("pass", "fail", "neutral")
_ALIASES = {
    "pass": "pass",
    "passed": "pass",
    "up": "pass",
    "thumbs_up": "pass",
    "thumbsup": "pass",
    "good": "pass",
    "yes": "pass",
    "true": "pass",
    "1": "pass",
    "1.0": "pass",
    "👍": "pass",
    "fail": "fail",
    "failed": "fail",
    "down": "fail",
    "thumbs_down": "fail",
    "thumbsdown": "fail",
    "bad": "fail",
    "no": "fail",
    "false": "fail",
    "0": "fail",
    "0.0": "fail",
    "👎": "fail",
    "neutral": "neutral",
    "skip": "neutral",
    "unsure": "neutral",
    "meh": "neutral",
}


def normalize_rating(value: Any) -> str:
    """'pass'|'fail'|'neutral' from pass/fail/neutral, up/down, 1/0, true/false; ValueError otherwise."""
    if isinstance(value, bool):
        return "pass" if value else "fail"
    if isinstance(value, (int, float)) and value in (0, 1):
        return "pass" if value == 1 else "fail"
    if isinstance(value, str):
        key = value.strip().lower()
        if key not in _ALIASES and key[:1].isalpha():  # "thumbs up", "Thumbs-Up" (never "-1")
            key = "_".join(key.replace("-", " ").split())
        if key in _ALIASES:
            return _ALIASES[key]
    raise ValueError(f"rating must be pass/fail/neutral, up/down, 1/0 or true/false; got {str(value)[:40]!r}")


def get_or_create_eval_set(access: Access, name: str, criterion: str = "") -> dict:
    """The eval set called ``name`` in the workspace, created when missing (needs ``rate``)."""
    access.need("rate")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValueError("An eval set needs a name of 1-200 characters.")
    return rating_store.get_or_create_eval_set(access, name, criterion or "")


def list_eval_sets(access: Access) -> list[dict]:
    """The workspace's eval sets with how many ratings each holds, by name."""
    return rating_store.list_eval_sets(access)


def upsert_ratings(access: Access, eval_set_id: str, ratings: list[dict]) -> int:
    """Bulk insert/update ``[{"trace_id", "value", "note"?, "rater"?}]``; returns how many were stored.

    ``value`` goes through :func:`normalize_rating`; ``rater`` defaults to the acting
    user's name (imports pass ``file:<name>`` / ``langfuse:<score>``). One rating per
    (eval set, trace, rater): a later one replaces the earlier.
    """
    access.need("rate")
    if not rating_store.eval_set_exists(access, eval_set_id):
        raise ValueError("No such eval set in this workspace.")
    if not ratings:
        return 0
    latest: dict[tuple, dict] = {}
    for r in ratings:
        rater = r.get("rater") or access.user.username
        latest[(r["trace_id"], rater)] = {
            "trace_id": r["trace_id"],
            "rater": rater,
            "value": normalize_rating(r["value"]),
            "note": r.get("note") or None,
        }
    return rating_store.upsert_ratings(access, eval_set_id, list(latest.values()))


def ratings_for_trace(access: Access, trace_id: str) -> list[dict]:
    """Every rating of one trace, with its eval set's name, newest first."""
    return rating_store.ratings_for_trace(access, trace_id)


def import_ratings(access: Access, eval_set: str, rows: list[dict], criterion: str = "") -> tuple[str, int]:
    """Keep the ratings an import carried in eval set ``eval_set`` (created when missing).

    The one way importers store ratings: they hand back ``[{"trace_id", "value", "note", "rater"}]``
    and this returns (the eval set's name, how many ratings were stored).
    """
    es = get_or_create_eval_set(access, eval_set, criterion)
    return es["name"], (upsert_ratings(access, es["id"], rows) if rows else 0)
