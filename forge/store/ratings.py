"""Eval sets and ratings: storage only (rating values are checked in forge.review.ratings)."""

from __future__ import annotations

from typing import Literal

from forge.store import new_id, utcnow
from forge.store.access import Access
from forge.store.traces import TraceFilters, filter_clause


def _eval_set(row) -> dict:
    return dict(zip(("id", "workspace_id", "name", "criterion", "created_by", "created_at"), row, strict=True))


def get_or_create_eval_set(access: Access, name: str, criterion: str = "") -> dict:
    """The eval set called ``name`` in the workspace, created when missing (needs ``rate``)."""
    access.need("rate")
    workspace_id = access.workspace_id

    def txn(cur):
        row = cur.execute(
            "SELECT id, workspace_id, name, criterion, created_by, created_at FROM eval_sets"
            " WHERE workspace_id = ? AND name = ?",
            [workspace_id, name],
        ).fetchone()
        if row:
            return _eval_set(row)
        es = (new_id(), workspace_id, name, criterion, access.user.id, utcnow())
        cur.execute(
            "INSERT INTO eval_sets (id, workspace_id, name, criterion, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            list(es),
        )
        return _eval_set(es)

    return access.db.write(txn)


def eval_set_exists(access: Access, eval_set_id: str) -> bool:
    """True when ``eval_set_id`` is an eval set of this workspace."""
    access.need("read")
    return bool(
        access.db.scalar(
            "SELECT count(*) FROM eval_sets WHERE id = ? AND workspace_id = ?", [eval_set_id, access.workspace_id]
        )
    )


def list_eval_sets(access: Access) -> list[dict]:
    """The workspace's eval sets with how many ratings each holds, by name."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT e.id, e.workspace_id, e.name, e.criterion, e.created_by, e.created_at,"
        " count(r.id) AS ratings FROM eval_sets e LEFT JOIN ratings r ON r.eval_set_id = e.id"
        " WHERE e.workspace_id = ? GROUP BY ALL ORDER BY e.name",
        [access.workspace_id],
    )


def upsert_ratings(access: Access, eval_set_id: str, rows: list[dict]) -> int:
    """Store ``[{"trace_id", "rater", "value", "note"}]`` (values already normalised, one per trace and
    rater) in eval set ``eval_set_id``; returns how many were stored. Only this workspace's traces count."""
    access.need("rate")
    if not rows:
        return 0
    import pyarrow as pa  # on the first write, not with the store (the server's start and login page need none)

    workspace_id, now = access.workspace_id, utcnow()
    table = pa.table(
        {
            "id": [new_id() for _ in rows],
            "trace_id": [r["trace_id"] for r in rows],
            "rater": [r["rater"] for r in rows],
            "value": [r["value"] for r in rows],
            "note": pa.array([r["note"] for r in rows], pa.string()),
        }
    )

    def txn(cur):
        cur.register("forge_ratings", table)
        try:
            # Only traces of this workspace may be rated in it.
            cur.execute(
                "INSERT INTO ratings (id, workspace_id, eval_set_id, trace_id, rater, user_id, value, note,"
                " created_at, updated_at)"
                " SELECT r.id, ?, ?, r.trace_id, r.rater, ?, r.value, r.note, ?, ? FROM forge_ratings r"
                " JOIN traces t ON t.id = r.trace_id AND t.workspace_id = ?"
                " ON CONFLICT (eval_set_id, trace_id, rater) DO UPDATE SET value = excluded.value,"
                " note = excluded.note, user_id = excluded.user_id, updated_at = excluded.updated_at",
                [workspace_id, eval_set_id, access.user.id, now, now, workspace_id],
            )
            return cur.fetchone()[0]
        finally:
            cur.unregister("forge_ratings")

    return access.db.write(txn)


_ORDERS = {"newest": "r.updated_at DESC, e.name", "eval_set": "e.name, r.rater"}


def ratings_for_trace(access: Access, trace_id: str, order: Literal["newest", "eval_set"] = "newest") -> list[dict]:
    """Every rating of one trace with its eval set's name: newest first, or by eval set and rater."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT r.id, r.eval_set_id, e.name AS eval_set, r.trace_id, r.rater, r.user_id, r.value, r.note,"
        " r.created_at, r.updated_at FROM ratings r LEFT JOIN eval_sets e ON e.id = r.eval_set_id"
        f" WHERE r.workspace_id = ? AND r.trace_id = ? ORDER BY {_ORDERS[order]}",
        [access.workspace_id, trace_id],
    )


def set_ratings(access: Access, eval_set_id: str) -> list[dict]:
    """Every rating in one eval set: trace_id, rater, value, note, criterion_version, updated_at."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT r.trace_id, r.rater, r.value, r.note, r.criterion_version, r.updated_at FROM ratings r"
        " WHERE r.workspace_id = ? AND r.eval_set_id = ? ORDER BY r.trace_id, r.rater",
        [access.workspace_id, eval_set_id],
    )


def resolutions(access: Access, eval_set_id: str) -> dict[str, dict]:
    """{trace_id: {value, note, kind, resolved_by, resolved_at}}: labels an analyst settled on."""
    access.need("read")
    rows = access.db.fetchdicts(
        "SELECT trace_id, value, note, kind, resolved_by, resolved_at FROM rating_resolutions"
        " WHERE workspace_id = ? AND eval_set_id = ?",
        [access.workspace_id, eval_set_id],
    )
    return {r.pop("trace_id"): r for r in rows}


def resolve(access: Access, eval_set_id: str, trace_id: str, value: str, note: str | None, kind: str) -> None:
    """Settle the human label of one trace (``kind`` 'resolved' or 'label-wrong'); needs ``edit``."""
    access.need("edit")

    def txn(cur):
        cur.execute(
            "INSERT INTO rating_resolutions (eval_set_id, trace_id, workspace_id, value, note, kind, resolved_by,"
            " resolved_at) SELECT ?, t.id, ?, ?, ?, ?, ?, ? FROM traces t WHERE t.id = ? AND t.workspace_id = ?"
            " ON CONFLICT (eval_set_id, trace_id) DO UPDATE SET value = excluded.value, note = excluded.note,"
            " kind = excluded.kind, resolved_by = excluded.resolved_by, resolved_at = excluded.resolved_at",
            [
                eval_set_id,
                access.workspace_id,
                value,
                note,
                kind,
                access.user.username,
                utcnow(),
                trace_id,
                access.workspace_id,
            ],
        )

    access.db.write(txn)


def unresolve(access: Access, eval_set_id: str, trace_id: str) -> None:
    """Drop a resolution: the majority of the raters decides again; needs ``edit``."""
    access.need("edit")
    access.db.execute(
        "DELETE FROM rating_resolutions WHERE workspace_id = ? AND eval_set_id = ? AND trace_id = ?",
        [access.workspace_id, eval_set_id, trace_id],
    )


# ---------------------------------------------------------------- eval sets: full rows, management

_SET_COLS = (
    "id, workspace_id, name, criterion, created_by, created_at, coalesce(target_per_class, 20) AS target_per_class,"
    " coalesce(archived, FALSE) AS archived, coalesce(blind, FALSE) AS blind,"
    " coalesce(raters_per_trace, 1) AS raters_per_trace, coalesce(criterion_version, 1) AS criterion_version,"
    " coalesce(scoped, FALSE) AS scoped, updated_at"
)


def get_eval_set(access: Access, eval_set_id: str) -> dict | None:
    """One eval set of this workspace with its review settings; None when not here."""
    access.need("read")
    rows = access.db.fetchdicts(
        f"SELECT {_SET_COLS} FROM eval_sets WHERE id = ? AND workspace_id = ?", [eval_set_id, access.workspace_id]
    )
    return rows[0] if rows else None


def find_eval_set(access: Access, name: str) -> dict | None:
    """The eval set called ``name`` in this workspace (archived ones too); None when missing."""
    access.need("read")
    rows = access.db.fetchdicts(
        f"SELECT {_SET_COLS} FROM eval_sets WHERE name = ? AND workspace_id = ?", [name, access.workspace_id]
    )
    return rows[0] if rows else None


def eval_set_overview(access: Access, include_archived: bool = False) -> list[dict]:
    """Every eval set with its settings and figures: ratings, raters, rated traces, queued traces, by name."""
    access.need("read")
    archived = "" if include_archived else " AND NOT coalesce(e.archived, FALSE)"
    return access.db.fetchdicts(
        "SELECT e.id, e.name, e.criterion, coalesce(e.target_per_class, 20) AS target_per_class,"
        " coalesce(e.archived, FALSE) AS archived, coalesce(e.blind, FALSE) AS blind,"
        " coalesce(e.raters_per_trace, 1) AS raters_per_trace, coalesce(e.criterion_version, 1) AS criterion_version,"
        " coalesce(e.scoped, FALSE) AS scoped, e.created_at,"
        " (SELECT count(*) FROM ratings r WHERE r.eval_set_id = e.id) AS ratings,"
        " (SELECT count(DISTINCT r.rater) FROM ratings r WHERE r.eval_set_id = e.id) AS raters,"
        " (SELECT count(DISTINCT r.trace_id) FROM ratings r WHERE r.eval_set_id = e.id) AS rated_traces,"
        " (SELECT count(*) FROM eval_set_traces q WHERE q.eval_set_id = e.id) AS queued_traces"
        f" FROM eval_sets e WHERE e.workspace_id = ?{archived} ORDER BY e.name",
        [access.workspace_id],
    )


def create_eval_set(
    access: Access,
    name: str,
    criterion: str,
    target_per_class: int = 20,
    blind: bool = False,
    raters_per_trace: int = 1,
) -> dict:
    """A new eval set (criterion version 1); ValueError when the name is taken. Needs ``edit``."""
    access.need("edit")
    workspace_id, now, set_id = access.workspace_id, utcnow(), new_id()

    def txn(cur):
        if cur.execute(
            "SELECT count(*) FROM eval_sets WHERE workspace_id = ? AND name = ?", [workspace_id, name]
        ).fetchone()[0]:
            raise ValueError(f"An eval set called '{name}' already exists in this workspace.")
        cur.execute(
            "INSERT INTO eval_sets (id, workspace_id, name, criterion, created_by, created_at, target_per_class,"
            " archived, blind, raters_per_trace, criterion_version, scoped, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, FALSE, ?, ?, 1, FALSE, ?)",
            [
                set_id,
                workspace_id,
                name,
                criterion,
                access.user.id,
                now,
                target_per_class,
                blind,
                raters_per_trace,
                now,
            ],
        )
        cur.execute(
            "INSERT INTO eval_set_criteria (eval_set_id, version, criterion, created_by, created_at)"
            " VALUES (?, 1, ?, ?, ?)",
            [set_id, criterion, access.user.username, now],
        )

    access.db.write(txn)
    return get_eval_set(access, set_id)


_SETTINGS = ("name", "target_per_class", "blind", "raters_per_trace", "archived")


def update_eval_set(access: Access, eval_set_id: str, **changes) -> None:
    """Rename, archive/unarchive or change review settings (name, target_per_class, blind, raters_per_trace,
    archived); needs ``edit``. ValueError on an unknown setting or a name already taken."""
    access.need("edit")
    unknown = set(changes) - set(_SETTINGS)
    if unknown:
        raise ValueError(f"Unknown eval set setting: {', '.join(sorted(unknown))}.")
    if not changes:
        return
    workspace_id = access.workspace_id

    def txn(cur):
        if (
            "name" in changes
            and cur.execute(
                "SELECT count(*) FROM eval_sets WHERE workspace_id = ? AND name = ? AND id <> ?",
                [workspace_id, changes["name"], eval_set_id],
            ).fetchone()[0]
        ):
            raise ValueError(f"An eval set called '{changes['name']}' already exists in this workspace.")
        sets = ", ".join(f"{k} = ?" for k in changes)
        cur.execute(
            f"UPDATE eval_sets SET {sets}, updated_at = ? WHERE id = ? AND workspace_id = ?",
            [*changes.values(), utcnow(), eval_set_id, workspace_id],
        )

    access.db.write(txn)


def set_criterion(access: Access, eval_set_id: str, criterion: str) -> int:
    """Store a new criterion version (the set's current one from now on); returns its number. Needs ``edit``."""
    access.need("edit")
    workspace_id, now = access.workspace_id, utcnow()

    def txn(cur):
        row = cur.execute(
            "SELECT coalesce(criterion_version, 1) FROM eval_sets WHERE id = ? AND workspace_id = ?",
            [eval_set_id, workspace_id],
        ).fetchone()
        if row is None:
            raise ValueError("No such eval set in this workspace.")
        latest = cur.execute(
            "SELECT coalesce(max(version), 0) FROM eval_set_criteria WHERE eval_set_id = ?", [eval_set_id]
        ).fetchone()[0]
        version = max(row[0], latest) + 1
        cur.execute(
            "INSERT INTO eval_set_criteria (eval_set_id, version, criterion, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [eval_set_id, version, criterion, access.user.username, now],
        )
        cur.execute(
            "UPDATE eval_sets SET criterion = ?, criterion_version = ?, updated_at = ? WHERE id = ?",
            [criterion, version, now, eval_set_id],
        )
        return version

    return access.db.write(txn)


def criterion_versions(access: Access, eval_set_id: str) -> list[dict]:
    """Every criterion version of a set, newest first, with how many ratings were made under it."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT c.version, c.criterion, c.created_by, c.created_at,"
        " (SELECT count(*) FROM ratings r WHERE r.eval_set_id = c.eval_set_id"
        "  AND coalesce(r.criterion_version, 1) = c.version) AS ratings"
        " FROM eval_set_criteria c JOIN eval_sets e ON e.id = c.eval_set_id"
        " WHERE c.eval_set_id = ? AND e.workspace_id = ? ORDER BY c.version DESC",
        [eval_set_id, access.workspace_id],
    )


def add_traces_to_set(
    access: Access, eval_set_id: str, trace_ids: list[str] | None = None, filters: TraceFilters | None = None
) -> int:
    """Put traces in the set's explicit queue: ``trace_ids``, or every trace matching the trace browser's
    ``filters``. The set becomes scoped. Only this workspace's traces count; returns how many were new.
    Needs ``rate``."""
    access.need("rate")
    workspace_id = access.workspace_id
    if trace_ids is None and filters is None:
        raise ValueError("Give trace ids or a filter.")

    def txn(cur):
        if not cur.execute(
            "SELECT count(*) FROM eval_sets WHERE id = ? AND workspace_id = ?", [eval_set_id, workspace_id]
        ).fetchone()[0]:
            raise ValueError("No such eval set in this workspace.")
        if trace_ids is not None:
            source, params = (
                "SELECT t.id FROM traces t WHERE t.workspace_id = ? AND list_contains(?, t.id)",
                [
                    workspace_id,
                    list(trace_ids),
                ],
            )
        else:
            where, where_params = filter_clause(workspace_id, filters)
            source, params = f"SELECT t.id FROM traces t WHERE {where}", list(where_params)
        before = cur.execute("SELECT count(*) FROM eval_set_traces WHERE eval_set_id = ?", [eval_set_id]).fetchone()[0]
        cur.execute(
            "INSERT INTO eval_set_traces (eval_set_id, trace_id, workspace_id, added_by, added_at)"
            f" SELECT ?, id, ?, ?, ? FROM ({source}) ON CONFLICT DO NOTHING",
            [eval_set_id, workspace_id, access.user.username, utcnow(), *params],
        )
        cur.execute("UPDATE eval_sets SET scoped = TRUE WHERE id = ?", [eval_set_id])
        after = cur.execute("SELECT count(*) FROM eval_set_traces WHERE eval_set_id = ?", [eval_set_id]).fetchone()[0]
        return after - before

    return access.db.write(txn)


def clear_set_scope(access: Access, eval_set_id: str) -> None:
    """Drop the explicit queue: the set covers the whole workspace again (ratings stay). Needs ``edit``."""
    access.need("edit")

    def txn(cur):
        cur.execute(
            "DELETE FROM eval_set_traces WHERE eval_set_id = ? AND workspace_id = ?", [eval_set_id, access.workspace_id]
        )
        cur.execute(
            "UPDATE eval_sets SET scoped = FALSE WHERE id = ? AND workspace_id = ?", [eval_set_id, access.workspace_id]
        )

    access.db.write(txn)


# ---------------------------------------------------------------- one rater's ratings


_RATING_KEYS = ("value", "note", "criterion_version", "recheck", "created_at", "updated_at")
_RATING_COLS = "value, note, criterion_version, coalesce(recheck, FALSE) AS recheck, created_at, updated_at"


def my_rating(access: Access, eval_set_id: str, trace_id: str) -> dict | None:
    """The acting user's rating of one trace in a set, or None."""
    access.need("read")
    rows = access.db.fetchdicts(
        f"SELECT {_RATING_COLS} FROM ratings WHERE workspace_id = ? AND eval_set_id = ? AND trace_id = ? AND rater = ?",
        [access.workspace_id, eval_set_id, trace_id, access.user.username],
    )
    return rows[0] if rows else None


def rate(access: Access, eval_set_id: str, trace_id: str, value: str, note: str | None) -> dict | None:
    """Store the acting user's rating of one trace under the set's current criterion; returns the rating it
    replaced (for undo), or None. Retried when the database is busy; ValueError when the trace or set is not
    in this workspace. Needs ``rate``."""
    access.need("rate")
    workspace_id, rater, now = access.workspace_id, access.user.username, utcnow()

    def txn(cur):
        before = cur.execute(
            f"SELECT {_RATING_COLS} FROM ratings WHERE eval_set_id = ? AND trace_id = ? AND rater = ?",
            [eval_set_id, trace_id, rater],
        ).fetchone()
        # One statement checks that set and trace are in this workspace and stores the rating under the set's
        # current criterion version (nothing is inserted when either is missing).
        stored = cur.execute(
            "INSERT INTO ratings (id, workspace_id, eval_set_id, trace_id, rater, user_id, value, note, created_at,"
            " updated_at, criterion_version, recheck) SELECT ?, e.workspace_id, e.id, t.id, ?, ?, ?, ?, ?, ?,"
            " coalesce(e.criterion_version, 1), FALSE FROM eval_sets e JOIN traces t ON t.workspace_id = e.workspace_id"
            " WHERE e.id = ? AND e.workspace_id = ? AND t.id = ?"
            " ON CONFLICT (eval_set_id, trace_id, rater) DO UPDATE SET value = excluded.value, note = excluded.note,"
            " user_id = excluded.user_id, updated_at = excluded.updated_at,"
            " criterion_version = excluded.criterion_version, recheck = FALSE",
            [new_id(), rater, access.user.id, value, note, now, now, eval_set_id, workspace_id, trace_id],
        ).fetchone()[0]
        if not stored:
            raise ValueError("No such eval set or trace in this workspace.")
        return dict(zip(_RATING_KEYS, before, strict=True)) if before else None

    return access.db.write(txn)


def restore_rating(access: Access, eval_set_id: str, trace_id: str, previous: dict | None) -> None:
    """Undo: put back the acting user's earlier rating of a trace (``previous`` from :func:`rate`), or remove
    the rating when there was none. Needs ``rate``."""
    access.need("rate")
    params = [access.workspace_id, eval_set_id, trace_id, access.user.username]
    if previous is None:
        access.db.execute(
            "DELETE FROM ratings WHERE workspace_id = ? AND eval_set_id = ? AND trace_id = ? AND rater = ?", params
        )
        return
    access.db.execute(
        "UPDATE ratings SET value = ?, note = ?, criterion_version = ?, recheck = ?, updated_at = ?"
        " WHERE workspace_id = ? AND eval_set_id = ? AND trace_id = ? AND rater = ?",
        [
            previous["value"],
            previous["note"],
            previous["criterion_version"],
            previous["recheck"],
            previous["updated_at"],
            *params,
        ],
    )


def set_note(access: Access, eval_set_id: str, trace_id: str, note: str | None) -> bool:
    """Change the note of the acting user's rating of a trace; False when there is no rating yet."""
    access.need("rate")
    cur = access.db.execute(
        "UPDATE ratings SET note = ?, updated_at = ? WHERE workspace_id = ? AND eval_set_id = ? AND trace_id = ?"
        " AND rater = ?",
        [note, utcnow(), access.workspace_id, eval_set_id, trace_id, access.user.username],
    )
    return bool(cur.fetchone()[0])


def rater_history(access: Access, eval_set_id: str, limit: int = 200) -> list[dict]:
    """The acting user's ratings in a set, newest first, with the trace's name and a short output preview
    and ``outdated`` when made under an earlier criterion."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT r.trace_id, r.value, r.note, r.criterion_version, coalesce(r.recheck, FALSE) AS recheck,"
        " r.updated_at, t.name, left(t.output_text, 80) AS output_preview,"
        " coalesce(r.criterion_version, 1) < coalesce(e.criterion_version, 1) AS outdated"
        " FROM ratings r JOIN eval_sets e ON e.id = r.eval_set_id JOIN traces t ON t.id = r.trace_id"
        " WHERE r.workspace_id = ? AND r.eval_set_id = ? AND r.rater = ? ORDER BY r.updated_at DESC LIMIT ?",
        [access.workspace_id, eval_set_id, access.user.username, limit],
    )


def set_ratings_for_trace(access: Access, eval_set_id: str, trace_id: str) -> list[dict]:
    """Every rater's rating of one trace in one set (rater, value, note, criterion_version, updated_at)."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT rater, value, note, criterion_version, coalesce(recheck, FALSE) AS recheck, updated_at FROM ratings"
        " WHERE workspace_id = ? AND eval_set_id = ? AND trace_id = ? ORDER BY rater",
        [access.workspace_id, eval_set_id, trace_id],
    )


def requeue_outdated(access: Access, eval_set_id: str) -> int:
    """Mark every rating made under an earlier criterion for re-check: each rater's queue serves those traces
    again. Returns how many were marked. Needs ``edit``."""
    access.need("edit")

    def txn(cur):
        cur.execute(
            "UPDATE ratings SET recheck = TRUE WHERE workspace_id = ? AND eval_set_id = ?"
            " AND coalesce(criterion_version, 1) < (SELECT coalesce(criterion_version, 1) FROM eval_sets"
            " WHERE id = ?) AND NOT coalesce(recheck, FALSE)",
            [access.workspace_id, eval_set_id, eval_set_id],
        )
        return cur.fetchone()[0]

    return access.db.write(txn)


def outdated_count(access: Access, eval_set_id: str) -> tuple[int, int]:
    """(ratings made under an earlier criterion, of which already re-queued) in a set."""
    access.need("read")
    row = access.db.fetchone(
        "SELECT count(*), count(*) FILTER (coalesce(r.recheck, FALSE)) FROM ratings r JOIN eval_sets e"
        " ON e.id = r.eval_set_id WHERE r.workspace_id = ? AND r.eval_set_id = ?"
        " AND coalesce(r.criterion_version, 1) < coalesce(e.criterion_version, 1)",
        [access.workspace_id, eval_set_id],
    )
    return int(row[0]), int(row[1])


def label_counts(access: Access, eval_set_id: str) -> dict[str, int]:
    """Traces per resolved label in a set (resolution, else majority of pass/fail; ties apart), in SQL so a
    rating's page refresh stays fast: {'pass', 'fail', 'neutral', 'ties', 'rated'}."""
    access.need("read")
    row = access.db.fetchone(
        "WITH votes AS (SELECT trace_id, count(*) FILTER (value = 'pass') AS p, count(*) FILTER (value = 'fail') AS f"
        "  FROM ratings WHERE workspace_id = ? AND eval_set_id = ? GROUP BY trace_id),"
        " res AS (SELECT trace_id, value FROM rating_resolutions WHERE workspace_id = ? AND eval_set_id = ?),"
        " labels AS (SELECT coalesce(res.value, CASE WHEN v.p > v.f THEN 'pass' WHEN v.f > v.p THEN 'fail'"
        "  WHEN v.p = 0 THEN 'neutral' ELSE 'tie' END) AS label"
        "  FROM votes v FULL OUTER JOIN res ON res.trace_id = v.trace_id)"
        " SELECT count(*) FILTER (label = 'pass'), count(*) FILTER (label = 'fail'),"
        " count(*) FILTER (label = 'neutral'), count(*) FILTER (label = 'tie'), count(*) FROM labels",
        [access.workspace_id, eval_set_id, access.workspace_id, eval_set_id],
    )
    return dict(zip(("pass", "fail", "neutral", "ties", "rated"), (int(x) for x in row), strict=True))


# ---------------------------------------------------------------- the review queue
#
# One query finds the traces this rater may rate next (the trace browser's filters, the set's explicit scope,
# not rated by this rater unless re-queued, fewer than k other raters) and returns how many there are and the
# first one in the chosen order. At 100,000 traces it stays well under the 150 ms budget (bench/review.py).

# A cheap text test first; the JSON is parsed only for the few traces that mention ERROR at all.
_HAS_ERROR = (
    "(t.steps::VARCHAR LIKE '%ERROR%'"
    " AND coalesce(list_contains(json_extract_string(t.steps, '$[*].level'), 'ERROR'), FALSE))"
)
_POLE_COLUMNS = {
    "out_len": "length(t.output_text)",
    "in_len": "length(t.input_text)",
    "has_error": _HAS_ERROR,
    "n_steps": "coalesce(json_array_length(t.steps), 0)",
    "latency_ms": "t.latency_ms",
}
_QUEUE_ORDERS = {
    "newest": "c.timestamp DESC NULLS LAST, c.id",
    "oldest": "c.timestamp ASC NULLS LAST, c.id",
    "random": "hash(c.id || ?), c.id",
    # Evals split half and half = nearest the decision boundary; traces without verdicts last.
    "informative": "(c.p + c.f > 0) DESC, abs(c.p / nullif(c.p + c.f, 0) - 0.5) ASC NULLS LAST,"
    " (c.p + c.f) DESC, hash(c.id || ?), c.id",
}
# Before any eval has run, "most informative" alternates between the extremes of the trace space so the first
# ratings cover it: long and short outputs, traces with and without failed steps, long inputs, many steps, slow.
COVERAGE_POLES = (
    ("longest output", "s.out_len DESC"),
    ("shortest output", "s.out_len ASC"),
    ("a failed step, longest output", "s.has_error DESC, s.out_len DESC"),
    ("longest input", "s.in_len DESC"),
    ("no failed step, shortest input", "s.has_error ASC, s.in_len ASC"),
    ("most steps", "s.n_steps DESC"),
    ("a failed step, shortest output", "s.has_error DESC, s.out_len ASC"),
    ("slowest", "s.latency_ms DESC NULLS LAST"),
)
# Above this many traces the coverage order looks for extremes in a seeded sample of about this many (whole
# row groups are skipped, so the big text columns are not read): extremes of a sample still cover the space.
COVERAGE_SAMPLE = 6_000

# The verdicts of the set's current evals (not rejected; the current version, else the latest) per trace.
_CURRENT_VOTES = (
    "SELECT x.trace_id, count(*) FILTER (x.verdict) AS p, count(*) FILTER (NOT x.verdict) AS f"
    " FROM eval_results x JOIN eval_versions v ON v.id = x.eval_version_id JOIN evals e ON e.id = v.eval_id"
    " WHERE e.eval_set_id = ? AND e.workspace_id = ? AND e.status <> 'rejected' AND x.workspace_id = ?"
    " AND v.version = coalesce(e.current_version,"
    "  (SELECT max(v2.version) FROM eval_versions v2 WHERE v2.eval_id = e.id))"
    " GROUP BY x.trace_id"
)
QUEUE_ORDERS = ("newest", "oldest", "random", "informative", "coverage")


def has_current_verdicts(access: Access, eval_set_id: str) -> bool:
    """True when the set's current evals have a stored pass/fail verdict on at least one trace."""
    access.need("read")
    ws = access.workspace_id
    return bool(access.db.scalar(f"SELECT count(*) FROM ({_CURRENT_VOTES}) WHERE p + f > 0", [eval_set_id, ws, ws]))


def queue_next(
    access: Access,
    eval_set: dict,
    filters: TraceFilters | None = None,
    order: str = "newest",
    *,
    seed: int = 0,
    exclude: list[str] | tuple[str, ...] = (),
    pole: int = 0,
) -> tuple[str | None, int]:
    """(the next trace for the acting user to rate, how many are left in this queue); see :func:`queue_batch`."""
    ids, left = queue_batch(access, eval_set, filters, order, seed=seed, exclude=exclude, pole=pole, limit=1)
    return (ids[0] if ids else None), left


def queue_batch(
    access: Access,
    eval_set: dict,
    filters: TraceFilters | None = None,
    order: str = "newest",
    *,
    seed: int = 0,
    exclude: list[str] | tuple[str, ...] = (),
    pole: int = 0,
    limit: int = 1,
) -> tuple[list[str], int]:
    """(the next ``limit`` traces for the acting user to rate, in order; how many are left in this queue).

    ``eval_set`` is a row of :func:`get_eval_set`; ``filters`` the trace browser's filters; ``order``
    newest | oldest | random (seeded) | informative | coverage (``pole`` picks the extreme of
    :data:`COVERAGE_POLES`); ``exclude`` trace ids skipped in this session. Traces re-queued for re-check
    come first, then those with the fewest raters.
    """
    access.need("read")
    if order not in QUEUE_ORDERS:
        raise ValueError(f"Queue order must be one of {', '.join(QUEUE_ORDERS)}; got '{order}'.")
    ws, set_id, rater = access.workspace_id, eval_set["id"], access.user.username
    sql_where, where_params = filter_clause(ws, filters or TraceFilters())
    params: list = [rater, rater, rater, set_id, ws]
    ctes = [
        "mine AS (SELECT trace_id, count(*) FILTER (rater <> ?) AS others,"
        " bool_or(rater = ? AND NOT coalesce(recheck, FALSE)) AS done,"
        " bool_or(rater = ? AND coalesce(recheck, FALSE)) AS recheck"
        " FROM ratings WHERE eval_set_id = ? AND workspace_id = ? GROUP BY trace_id)"
    ]
    cols = ["t.id", "t.timestamp", "coalesce(m.recheck, FALSE) AS recheck", "coalesce(m.others, 0) AS others"]
    joins = " LEFT JOIN mine m ON m.trace_id = t.id"
    if order == "informative":
        ctes.append(f"votes AS ({_CURRENT_VOTES})")
        params += [set_id, ws, ws]
        joins += " LEFT JOIN votes v ON v.trace_id = t.id"
        cols += ["coalesce(v.p, 0) AS p", "coalesce(v.f, 0) AS f"]
    scope = ""
    if eval_set.get("scoped"):
        scope = " AND t.id IN (SELECT trace_id FROM eval_set_traces WHERE eval_set_id = ?)"
    params += list(where_params)
    if scope:
        params.append(set_id)
    params += [int(eval_set.get("raters_per_trace") or 1), list(exclude)]
    cte_sql = (
        f"WITH {', '.join(ctes)}, cand AS MATERIALIZED (SELECT {', '.join(cols)} FROM traces t{joins}"
        f" WHERE {sql_where}{scope} AND NOT coalesce(m.done, FALSE)"
        " AND (coalesce(m.recheck, FALSE) OR coalesce(m.others, 0) < ?) AND NOT list_contains(?::VARCHAR[], t.id))"
    )
    if order != "coverage":
        order_params = [str(seed)] if order in ("random", "informative") else []
        row = access.db.fetchone(
            f"{cte_sql} SELECT (SELECT count(*) FROM cand),"
            " (SELECT list(id ORDER BY pos) FROM (SELECT id, row_number() OVER () AS pos FROM (SELECT c.id FROM cand c"
            f" ORDER BY c.recheck DESC, c.others ASC, {_QUEUE_ORDERS[order]} LIMIT ?)))",
            params + order_params + [max(1, int(limit))],
        )
        return (list(row[1] or []), int(row[0])) if row else ([], 0)
    # One read of the features serves the next ``limit`` poles in turn (each pole's extremes, first unused).
    features = ", ".join(f"{expr} AS {name}" for name, expr in _POLE_COLUMNS.items())
    n_traces = access.db.scalar("SELECT count(*) FROM traces WHERE workspace_id = ?", [ws]) or 0
    percent = 100.0 * COVERAGE_SAMPLE / n_traces if n_traces else 100.0
    limit = max(1, int(limit))
    poles = [COVERAGE_POLES[(pole + j) % len(COVERAGE_POLES)][1] for j in range(min(limit, len(COVERAGE_POLES)))]
    lists = ", ".join(
        "(SELECT list(id ORDER BY pos) FROM (SELECT id, row_number() OVER () AS pos FROM"
        f" (SELECT s.id FROM s ORDER BY s.recheck DESC, s.others ASC, {p}, s.id LIMIT {limit})))"
        for p in poles
    )
    row = None
    for sample in ([f" TABLESAMPLE {percent:.3f}% (system, {int(seed) % 100_000})"] if percent < 100 else []) + [""]:
        row = access.db.fetchone(
            f"{cte_sql}, s AS MATERIALIZED (SELECT c.id, c.recheck, c.others, f.* EXCLUDE (id) FROM cand c JOIN"
            f" (SELECT t.id, {features} FROM traces t{sample} WHERE t.workspace_id = ?) f ON f.id = c.id)"
            f" SELECT (SELECT count(*) FROM cand), {lists}",
            params + [ws],
        )
        if row is None or not row[0] or any(row[1:]):
            break  # found some, or the queue is empty; else the sample missed every eligible trace
    if row is None:
        return [], 0
    picked: list[str] = []
    for j in range(limit):
        extremes = row[1 + j % len(poles)] or []
        nxt = next((i for i in extremes if i not in picked), None)
        if nxt is None:
            break
        picked.append(nxt)
    return picked, int(row[0])


def still_queued(access: Access, eval_set: dict, trace_id: str) -> bool:
    """True while ``trace_id`` still needs the acting user's rating (a point query: a prefetched queue is
    checked item by item, since other raters rate at the same time)."""
    access.need("read")
    row = access.db.fetchone(
        "SELECT (SELECT count(*) FROM traces WHERE id = ? AND workspace_id = ?),"
        " count(*) FILTER (rater <> ?), bool_or(rater = ? AND NOT coalesce(recheck, FALSE)),"
        " bool_or(rater = ? AND coalesce(recheck, FALSE))"
        " FROM ratings WHERE eval_set_id = ? AND trace_id = ? AND workspace_id = ?",
        [trace_id, access.workspace_id, access.user.username, access.user.username, access.user.username,
         eval_set["id"], trace_id, access.workspace_id],
    )  # fmt: skip
    exists, others, done, recheck = row
    return bool(exists) and not done and (bool(recheck) or others < int(eval_set.get("raters_per_trace") or 1))


def rater_count(access: Access, eval_set_id: str) -> int:
    """How many traces the acting user has rated in a set."""
    access.need("read")
    return int(
        access.db.scalar(
            "SELECT count(*) FROM ratings WHERE workspace_id = ? AND eval_set_id = ? AND rater = ?",
            [access.workspace_id, eval_set_id, access.user.username],
        )
    )


def rating_notes(access: Access, eval_set_id: str, trace_ids: list[str]) -> dict[str, dict[str, dict]]:
    """{trace_id: {rater: {value, note, criterion_version}}} for some traces of a set (the disagreement list)."""
    access.need("read")
    out: dict[str, dict[str, dict]] = {}
    if not trace_ids:
        return out
    for r in access.db.fetchdicts(
        "SELECT trace_id, rater, value, note, criterion_version FROM ratings WHERE workspace_id = ?"
        " AND eval_set_id = ? AND list_contains(?::VARCHAR[], trace_id) ORDER BY trace_id, rater",
        [access.workspace_id, eval_set_id, list(trace_ids)],
    ):
        out.setdefault(r.pop("trace_id"), {})[r.pop("rater")] = r
    return out


def trace_previews(access: Access, trace_ids: list[str], chars: int = 120) -> dict[str, dict]:
    """{trace_id: {name, input_preview, output_preview}} for traces of this workspace."""
    access.need("read")
    if not trace_ids:
        return {}
    rows = access.db.fetchdicts(
        "SELECT id, name, left(input_text, ?) AS input_preview, left(output_text, ?) AS output_preview FROM traces"
        " WHERE workspace_id = ? AND list_contains(?::VARCHAR[], id)",
        [chars, chars, access.workspace_id, list(trace_ids)],
    )
    return {r.pop("id"): r for r in rows}


def set_rating_votes(access: Access, eval_set_id: str) -> list[tuple[str, str, str]]:
    """Every rating of a set as plain (trace_id, rater, value) tuples: the agreement panel's fast input."""
    access.need("read")
    return access.db.fetchall(
        "SELECT trace_id, rater, value FROM ratings WHERE workspace_id = ? AND eval_set_id = ?",
        [access.workspace_id, eval_set_id],
    )
