"""What a workspace holds, and the next thing to do in it (the home page's figures)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from forge.store.access import Access

# Below this many pass/fail ratings, evals cannot be checked against humans reliably.
ENOUGH_RATINGS = 20


@dataclass(frozen=True)
class NextStep:
    title: str
    detail: str
    page: str  # the page file that does it, e.g. "pages/import.py" (shown only once that page exists)


@dataclass(frozen=True)
class WorkspaceSummary:
    traces: int
    eval_sets: int
    ratings: dict[str, int] = field(default_factory=dict)  # pass / fail / neutral
    rated_traces: int = 0
    evals: int = 0
    eval_results: int = 0
    runs: int = 0
    next_step: NextStep | None = None

    @property
    def ratings_total(self) -> int:
        return sum(self.ratings.values())


def workspace_summary(access: Access) -> WorkspaceSummary:
    """Counts of what the workspace holds."""
    access.need("read")
    db, workspace_id = access.db, access.workspace_id
    traces, eval_sets, evals, runs, results, rated = db.fetchone(
        "SELECT"
        " (SELECT count(*) FROM traces WHERE workspace_id = $ws),"
        " (SELECT count(*) FROM eval_sets WHERE workspace_id = $ws),"
        " (SELECT count(*) FROM evals WHERE workspace_id = $ws AND status <> 'rejected'),"
        " (SELECT count(*) FROM runs WHERE workspace_id = $ws),"
        " (SELECT count(*) FROM eval_results WHERE workspace_id = $ws),"
        " (SELECT count(DISTINCT trace_id) FROM ratings WHERE workspace_id = $ws AND value <> 'neutral')",
        {"ws": workspace_id},
    )
    ratings = {"pass": 0, "fail": 0, "neutral": 0}
    for value, n in db.fetchall(
        "SELECT value, count(*) FROM ratings WHERE workspace_id = ? GROUP BY value", [workspace_id]
    ):
        ratings[value] = n
    summary = WorkspaceSummary(traces, eval_sets, ratings, rated, evals, results, runs)
    return replace(summary, next_step=next_step(summary))


def next_step(s: WorkspaceSummary) -> NextStep:
    """The most useful next action for a workspace in state ``s``."""
    if s.traces == 0:
        return NextStep(
            "Bring in some traces",
            "Load the demo data to see every screen working, or import your own traces "
            "(JSONL, JSON, CSV, Langfuse exports, OpenAI chat logs) or pull them from Langfuse.",
            "pages/import.py",
        )
    if s.eval_sets == 0 or s.ratings["pass"] + s.ratings["fail"] == 0:
        return NextStep(
            "Rate traces",
            "Pick a criterion (an eval set) and give traces a thumbs up or down: "
            "human ratings are what evals are checked against.",
            "pages/review.py",
        )
    if s.ratings["pass"] + s.ratings["fail"] < ENOUGH_RATINGS or not (s.ratings["pass"] and s.ratings["fail"]):
        return NextStep(
            "Rate more traces",
            f"{s.ratings['pass'] + s.ratings['fail']} pass/fail ratings so far: aim for at least "
            f"{ENOUGH_RATINGS}, with both passes and fails, so evals can be measured against humans.",
            "pages/review.py",
        )
    if s.evals == 0:
        return NextStep(
            "Create evals",
            "Generate eval functions from the ratings with an LLM, synthesise them without one, or write one by hand.",
            "pages/generate.py",
        )
    if s.eval_results == 0:
        return NextStep("Run the evals", "Run the eval set's evals over its traces in the sandbox.", "pages/evals.py")
    return NextStep(
        "Look at the contradictions",
        "See where each eval disagrees with the human ratings, fix the eval or the rating, and run again.",
        "pages/matrix.py",
    )


def eval_set_counts(access: Access) -> list[dict]:
    """Per eval set, by name: ``id, name, criterion, pass, fail, neutral`` (traces rated so within
    the set, by any rater) and ``ratings`` (every rating, every rater). Never summed across sets."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT e.id, e.name, e.criterion,"
        " count(DISTINCT r.trace_id) FILTER (r.value = 'pass') AS pass,"
        " count(DISTINCT r.trace_id) FILTER (r.value = 'fail') AS fail,"
        " count(DISTINCT r.trace_id) FILTER (r.value = 'neutral') AS neutral,"
        " count(r.id) AS ratings"
        " FROM eval_sets e LEFT JOIN ratings r ON r.eval_set_id = e.id AND r.workspace_id = e.workspace_id"
        " WHERE e.workspace_id = ? GROUP BY e.id, e.name, e.criterion ORDER BY e.name",
        [access.workspace_id],
    )
