"""The human label every metric uses: an analyst's resolution, else the raters' majority."""

from __future__ import annotations

from forge.review.agreement import ResolvedLabels, resolved_labels
from forge.store import ratings as rating_store
from forge.store.access import Access


def human_labels(access: Access, eval_set_id: str) -> ResolvedLabels:
    """Resolved labels of one eval set: {trace_id: 'pass'|'fail'}, ties left out and listed."""
    rows = rating_store.set_ratings(access, eval_set_id)
    settled = {trace_id: r["value"] for trace_id, r in rating_store.resolutions(access, eval_set_id).items()}
    return resolved_labels(((r["trace_id"], r["rater"], r["value"]) for r in rows), settled)
