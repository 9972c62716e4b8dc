"""Eval sets: create, rename, archive, settings, criterion versions, the queue's scope; the agreement panel;
the ratings export. The rules live here, the rows in ``forge.store.ratings``."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from forge.review.agreement import AgreementReport, agreement, resolved_labels
from forge.review.labels import human_labels
from forge.store import ratings as rating_store
from forge.store.access import Access
from forge.store.traces import TraceFilters

MAX_RATERS_PER_TRACE = 10
EXPORT_FIELDS = ("trace_id", "rater", "value", "note", "criterion_version", "resolved_label")


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValueError("An eval set needs a name of 1-200 characters.")
    return name


def _settings(target_per_class: int | None, raters_per_trace: int | None) -> None:
    if target_per_class is not None and not 1 <= int(target_per_class) <= 100_000:
        raise ValueError("The target per class must be between 1 and 100,000 ratings.")
    if raters_per_trace is not None and not 1 <= int(raters_per_trace) <= MAX_RATERS_PER_TRACE:
        raise ValueError(f"Raters per trace must be between 1 and {MAX_RATERS_PER_TRACE}.")


def create(
    access: Access,
    name: str,
    criterion: str,
    target_per_class: int = 20,
    blind: bool = False,
    raters_per_trace: int = 1,
) -> dict:
    """A new eval set with its criterion (version 1). Needs ``edit``."""
    access.need("edit")
    _settings(target_per_class, raters_per_trace)
    return rating_store.create_eval_set(
        access, _name(name), (criterion or "").strip(), int(target_per_class), bool(blind), int(raters_per_trace)
    )


def update(access: Access, eval_set_id: str, **changes) -> None:
    """Rename, archive (``archived=True``: hidden, ratings kept) or change settings. Needs ``edit``."""
    if "name" in changes:
        changes["name"] = _name(changes["name"])
    _settings(changes.get("target_per_class"), changes.get("raters_per_trace"))
    rating_store.update_eval_set(access, eval_set_id, **changes)


def edit_criterion(access: Access, eval_set_id: str, criterion: str) -> int | None:
    """Save an edited criterion as a new version; None when the text did not change. Needs ``edit``."""
    current = rating_store.get_eval_set(access, eval_set_id)
    if current is None:
        raise ValueError("No such eval set in this workspace.")
    criterion = (criterion or "").strip()
    if criterion == (current["criterion"] or "").strip():
        return None
    return rating_store.set_criterion(access, eval_set_id, criterion)


def add_to_queue(
    access: Access, eval_set_id: str, trace_ids: list[str] | None = None, filters: TraceFilters | None = None
) -> int:
    """Add the given traces, or every trace matching ``filters``, to the set's queue; returns how many were new."""
    if trace_ids is not None:
        return rating_store.add_traces_to_set(access, eval_set_id, trace_ids=list(trace_ids))
    return rating_store.add_traces_to_set(access, eval_set_id, filters=filters or TraceFilters())


def by_name(access: Access, name: str) -> dict:
    """The eval set called ``name`` here; ValueError naming the sets there are when it is missing."""
    found = rating_store.find_eval_set(access, name)
    if found is None:
        names = [s["name"] for s in rating_store.eval_set_overview(access)]
        raise ValueError(
            f"No eval set called '{name}' in workspace '{access.workspace.name}'"
            + (f" (there are: {', '.join(names[:10])})" if names else " (it has none yet)")
        )
    return found


# ---------------------------------------------------------------- agreement panel


@dataclass(frozen=True)
class DisagreementRow:
    """A trace where raters gave both pass and fail: every rating and note, and its resolution if any."""

    trace_id: str
    name: str | None
    input_preview: str
    output_preview: str
    ratings: dict[str, dict]  # rater -> {value, note, criterion_version}
    resolution: dict | None


@dataclass(frozen=True)
class AgreementPanel:
    report: AgreementReport
    disagreements: list[DisagreementRow]
    hidden: int  # disagreements not shown: blind set, and the viewer has not rated them
    labels: dict[str, int]  # resolved label counts (pass, fail, ties, resolved)


def agreement_panel(access: Access, eval_set: dict, reveal: bool = False, limit: int = 200) -> AgreementPanel:
    """Human-human agreement of a set, its disagreements side by side, and the resolved labels.

    In a blind set a viewer sees only disagreements on traces they rated themselves, unless ``reveal``
    (for someone who may resolve: ``edit``).
    """
    votes = rating_store.set_rating_votes(access, eval_set["id"])
    report = agreement(votes)
    resolutions = rating_store.resolutions(access, eval_set["id"])
    # The same rule as forge.review.labels.human_labels, on the rows already read.
    labels = resolved_labels(votes, {trace_id: r["value"] for trace_id, r in resolutions.items()})
    ids = [d.trace_id for d in report.disagreements]
    hidden = 0
    if eval_set.get("blind") and not (reveal and access.may("edit")):
        mine = {trace_id for trace_id, rater, _ in votes if rater == access.user.username}
        visible = [i for i in ids if i in mine]
        hidden = len(ids) - len(visible)
        ids = visible
    ids = ids[:limit]
    notes = rating_store.rating_notes(access, eval_set["id"], ids)
    previews = rating_store.trace_previews(access, ids)
    out = [
        DisagreementRow(
            i,
            previews.get(i, {}).get("name"),
            previews.get(i, {}).get("input_preview") or "",
            previews.get(i, {}).get("output_preview") or "",
            notes.get(i, {}),
            resolutions.get(i),
        )
        for i in ids
    ]
    counts = {
        "pass": sum(v == "pass" for v in labels.labels.values()),
        "fail": sum(v == "fail" for v in labels.labels.values()),
        "ties": len(labels.ties),
        "resolved": len(labels.resolved),
    }
    return AgreementPanel(report, out, hidden, counts)


def resolve(access: Access, eval_set_id: str, trace_id: str, value: str, note: str | None = None) -> None:
    """Settle a disagreement: this label wins over the majority from now on. Needs ``edit``."""
    if value not in ("pass", "fail", "neutral"):
        raise ValueError(f"A resolution is pass, fail or neutral; got '{value}'.")
    rating_store.resolve(access, eval_set_id, trace_id, value, (note or "").strip() or None, "resolved")


# ---------------------------------------------------------------- export


def export_rows(access: Access, eval_set_id: str) -> list[dict]:
    """Every rating of a set: trace id, rater, value, note, criterion version and the trace's resolved label
    (resolution, else majority; empty for ties and neutral-only traces)."""
    labels = human_labels(access, eval_set_id).labels
    return [
        {
            "trace_id": r["trace_id"],
            "rater": r["rater"],
            "value": r["value"],
            "note": r["note"],
            "criterion_version": r["criterion_version"],
            "resolved_label": labels.get(r["trace_id"]),
        }
        for r in rating_store.set_ratings(access, eval_set_id)
    ]


def export_csv(rows: list[dict]) -> str:
    """The export rows as CSV text with a header line."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if r[k] is None else r[k] for k in EXPORT_FIELDS})
    return buf.getvalue()
