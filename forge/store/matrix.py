"""The contradiction matrix's SQL: an eval set's traces x its eval versions, beside the human label.

Every count is made in DuckDB; Python sees one page of cells, per-eval counts and verdict patterns.

The set's traces are those rated in the set, those added to its explicit queue (eval_set_traces) and
those any of the chosen eval versions has a result on. The human label of a trace is the analyst's
resolution where there is one (neutral = no label), else the majority of its pass/fail ratings (a tie
is no label) — the same rule as ``forge.review.agreement.resolved_labels``.

Cell status: ``agree`` / ``contradiction`` (verdict vs label), ``error`` (verdict NULL: an error or
timeout), ``unrated`` (a verdict, no human label); no result row = not run (NULL status).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime

import numpy as np
import pyarrow as pa

from forge.store import eval_results
from forge.store.access import Access

STATUSES = ("agree", "contradiction", "error", "unrated")
HUMAN_FILTERS = ("pass", "fail", "unrated")
CELL_FILTERS = ("contradictions", "errors")
SORTS = {
    "contradictions": "n_contradictions DESC, n_errors DESC, timestamp DESC NULLS LAST, trace_id",
    "errors": "n_errors DESC, n_contradictions DESC, timestamp DESC NULLS LAST, trace_id",
    "newest": "timestamp DESC NULLS LAST, trace_id",
    "oldest": "timestamp ASC NULLS LAST, trace_id",
}
PAGE_SIZES = (25, 50, 100, 200)
MAX_PATTERN_EVALS = 62  # verdict patterns are bit masks in a BIGINT
PREVIEW_CHARS = 120


@dataclass(frozen=True)
class MatrixFilters:
    """What the analyst narrowed the matrix to; empty fields do not filter."""

    cells: str | None = None  # 'contradictions' | 'errors': traces with at least one such cell
    human: str | None = None  # 'pass' | 'fail' | 'unrated' (no label: unrated, neutral or a tie)
    rater: str | None = None  # rated in this set by this rater
    start: datetime | None = None  # trace timestamp >= start
    end: datetime | None = None  # trace timestamp < end
    sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # has any of these tags
    text: str | None = None  # case-insensitive, in input, output, name or id

    def __post_init__(self):
        for f in fields(self):
            if isinstance(getattr(self, f.name), list):
                object.__setattr__(self, f.name, tuple(getattr(self, f.name)))
        if self.cells is not None and self.cells not in CELL_FILTERS:
            raise ValueError(f"cells must be one of {', '.join(CELL_FILTERS)}; got '{self.cells}'.")
        if self.human is not None and self.human not in HUMAN_FILTERS:
            raise ValueError(f"human must be one of {', '.join(HUMAN_FILTERS)}; got '{self.human}'.")

    @property
    def active(self) -> int:
        return sum(bool(getattr(self, f.name)) for f in fields(self))


# ---------------------------------------------------------------- columns


def eval_columns(access: Access, eval_set_id: str, all_versions: bool = False) -> list[dict]:
    """The set's eval versions as matrix columns (rejected evals left out), by eval creation then version.

    Each: version_id, eval_id, name, version, current (bool), status, label ("name v3"), index.
    The current version is ``evals.current_version``, else the newest.
    """
    access.need("read")
    rows = access.db.fetchdicts(
        "WITH cur AS (SELECT e.id, e.name, e.status, e.created_at,"
        " coalesce(e.current_version, (SELECT max(version) FROM eval_versions v WHERE v.eval_id = e.id)) AS current"
        " FROM evals e WHERE e.workspace_id = ? AND e.eval_set_id = ? AND e.status <> 'rejected')"
        " SELECT v.id AS version_id, c.id AS eval_id, c.name, v.version, v.version = c.current AS current, c.status"
        " FROM cur c JOIN eval_versions v ON v.eval_id = c.id"
        f" {'' if all_versions else 'WHERE v.version = c.current'}"
        " ORDER BY c.created_at, c.name, v.version DESC",
        [access.workspace_id, eval_set_id],
    )
    for i, r in enumerate(rows):
        r["label"] = f"{r['name']} v{r['version']}"
        r["index"] = i
    return rows


# ---------------------------------------------------------------- the shared CTEs
#
# One pass over eval_results, grouped by trace, gives everything: per trace how many of the chosen
# versions passed, failed or erred (the page's sort key) or, for statistics, bit masks of which did.
# Results are never joined one by one with labels: 1,000,000 results collapse to 100,000 rows first.


def _labels_sql() -> str:
    """CTEs votes, settled and labelled(trace_id, label, resolved, tie, n_ratings): only traces with ratings."""
    return """
        votes AS (
            SELECT trace_id, count(*) FILTER (WHERE value = 'pass') AS passes,
                   count(*) FILTER (WHERE value = 'fail') AS fails, count(*) AS n_ratings
            FROM ratings WHERE workspace_id = $ws AND eval_set_id = $es GROUP BY trace_id
        ),
        settled AS (SELECT trace_id, value FROM rating_resolutions WHERE workspace_id = $ws AND eval_set_id = $es),
        labelled AS (
            SELECT trace_id,
                   CASE WHEN s.trace_id IS NOT NULL THEN nullif(s.value, 'neutral')
                        WHEN v.passes > v.fails THEN 'pass' WHEN v.fails > v.passes THEN 'fail' END AS label,
                   s.trace_id IS NOT NULL AS resolved,
                   s.trace_id IS NULL AND v.passes = v.fails AND v.passes > 0 AS tie,
                   coalesce(v.n_ratings, 0) AS n_ratings
            FROM votes v FULL JOIN settled s USING (trace_id)
        )"""


def _rows_sql(per_trace_columns: tuple[str, ...]) -> str:
    """CTE set_rows: one row per trace of the set — judged by a chosen version (per_trace), labelled, or only
    queued — with per_trace's ``per_trace_columns`` and the label columns. A FULL JOIN, not a UNION of ids:
    at 100,000 traces it saves a distinct over every id."""
    p_cols = ", ".join(f"p.{c}" for c in per_trace_columns)
    label_cols = (
        "l.label, coalesce(l.resolved, FALSE) AS resolved, coalesce(l.tie, FALSE) AS tie,"
        " coalesce(l.n_ratings, 0) AS n_ratings"
    )
    return f"""
        queued AS (SELECT trace_id FROM eval_set_traces WHERE workspace_id = $ws AND eval_set_id = $es),
        set_rows AS (
            SELECT coalesce(p.trace_id, l.trace_id, q.trace_id) AS trace_id, {p_cols}, {label_cols}
            FROM per_trace p FULL JOIN labelled l ON l.trace_id = p.trace_id
            FULL JOIN queued q ON q.trace_id = coalesce(p.trace_id, l.trace_id)
        )"""


def _cols_sql() -> str:
    return "cols AS (SELECT unnest($vids::VARCHAR[]) AS vid, unnest(range(len($vids::VARCHAR[]))) AS idx)"


def _pattern(text: str) -> str:
    return "(?i)" + re.escape(text)


def _where(access: Access, eval_set_id: str, f: MatrixFilters) -> tuple[str, dict]:
    """The WHERE of the page's rows (t = traces, r = set_rows) with its named parameters."""
    clauses, params = ["TRUE"], {}
    if f.cells == "contradictions":
        clauses.append("r.n_contradictions > 0")
    elif f.cells == "errors":
        clauses.append("coalesce(r.n_errors, 0) > 0")
    if f.human == "unrated":
        clauses.append("r.label IS NULL")
    elif f.human:
        clauses.append("r.label = $human")
        params["human"] = f.human
    if f.rater:
        clauses.append(
            "EXISTS (SELECT 1 FROM ratings x WHERE x.trace_id = r.trace_id AND x.workspace_id = $ws"
            " AND x.eval_set_id = $es AND x.rater = $rater)"
        )
        params["rater"] = f.rater
    if f.start:
        clauses.append("r.timestamp >= $start")
        params["start"] = f.start
    if f.end:
        clauses.append("r.timestamp < $end")
        params["end"] = f.end
    if f.sources:
        clauses.append("list_contains($sources::VARCHAR[], t.source)")
        params["sources"] = list(f.sources)
    if f.tags:
        clauses.append("list_has_any(t.tags, $tags::VARCHAR[])")
        params["tags"] = list(f.tags)
    text = (f.text or "").strip()
    if text:
        clauses.append(
            "(regexp_matches(t.input_text, $pattern) OR regexp_matches(t.output_text, $pattern)"
            " OR regexp_matches(coalesce(t.name, ''), $pattern) OR r.trace_id = $text)"
        )
        params.update(pattern=_pattern(text), text=text)
    return " AND ".join(clauses), params


# ---------------------------------------------------------------- the page


@dataclass(frozen=True)
class MatrixPage:
    """One page of matrix rows (per trace) and their cells; ``total`` counts every matching trace."""

    rows: list[dict]  # trace_id, timestamp, name, source, input/output previews, label, n_contradictions, ...
    cells: list[dict]  # trace_id, version_id, verdict, status (page rows only; the reason: cell_detail)
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _used(sql: str, params: dict) -> dict:
    """Only the named parameters ``sql`` uses (DuckDB refuses extra ones)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def trace_summary(access: Access, eval_set_id: str, version_ids: list[str]) -> pa.Table:
    """One row per trace of the set: label, resolved, tie, n_ratings, the versions that ran / passed / failed
    (bit masks, up to MAX_PATTERN_EVALS versions; beyond, NULL), n_pass, n_fail, n_errors, n_results,
    n_contradictions, timestamp and week. The one pass over eval_results every other matrix query reads from."""
    access.need("read")
    masked = len(version_ids) <= MAX_PATTERN_EVALS
    per_trace = (
        "SELECT x.trace_id, bit_or(1::BIGINT << c.idx) AS ran_mask,"
        " coalesce(bit_or(CASE WHEN x.verdict THEN 1::BIGINT << c.idx END), 0) AS pass_mask,"
        " coalesce(bit_or(CASE WHEN NOT x.verdict THEN 1::BIGINT << c.idx END), 0) AS fail_mask,"
        " bit_count(pass_mask) AS n_pass, bit_count(fail_mask) AS n_fail,"
        " bit_count(ran_mask) - n_pass - n_fail AS n_errors, bit_count(ran_mask) AS n_results"
        if masked
        else "SELECT x.trace_id, count(*) FILTER (WHERE x.verdict) AS n_pass, count(*) FILTER (WHERE NOT x.verdict)"
        " AS n_fail, count(*) FILTER (WHERE x.verdict IS NULL) AS n_errors, count(*) AS n_results,"
        " NULL::BIGINT AS ran_mask, NULL::BIGINT AS pass_mask, NULL::BIGINT AS fail_mask"
    ) + " FROM eval_results x JOIN cols c ON c.vid = x.eval_version_id WHERE x.workspace_id = $ws GROUP BY x.trace_id"
    zero = "0" if masked else "NULL"
    sql = f"""
        WITH {_cols_sql()},
        per_trace AS ({per_trace}),
        {_labels_sql()},
        {_rows_sql(("n_pass", "n_fail", "n_errors", "n_results", "ran_mask", "pass_mask", "fail_mask"))}
        SELECT r.trace_id, r.label, r.resolved, r.tie, r.n_ratings,
               coalesce(r.ran_mask, {zero}) AS ran_mask, coalesce(r.pass_mask, {zero}) AS pass_mask,
               coalesce(r.fail_mask, {zero}) AS fail_mask,
               coalesce(r.n_pass, 0) AS n_pass, coalesce(r.n_fail, 0) AS n_fail,
               coalesce(r.n_errors, 0) AS n_errors, coalesce(r.n_results, 0) AS n_results,
               CASE r.label WHEN 'pass' THEN coalesce(r.n_fail, 0) WHEN 'fail' THEN coalesce(r.n_pass, 0)
                    ELSE 0 END AS n_contradictions,
               t.timestamp, date_trunc('week', t.timestamp) AS week
        FROM set_rows r JOIN traces t ON t.id = r.trace_id AND t.workspace_id = $ws
    """
    params = {"ws": access.workspace_id, "es": eval_set_id, "vids": list(version_ids)}
    return _arrow(access, sql, params)


def _arrow(access: Access, sql: str, params: dict) -> pa.Table:
    """A query's rows as an Arrow table, on a cursor of its own (a relation would hold the thread's cursor)."""
    cur = access.db.cursor().cursor()
    try:
        return cur.sql(sql, params=params).to_arrow_table()
    finally:
        cur.close()


def _on_summary(access: Access, summary: pa.Table, sql: str, params: dict) -> list[tuple]:
    """Run ``sql`` with the summary table readable as ``summary`` (its own cursor: register needs one)."""
    cur = access.db.cursor().cursor()
    try:
        cur.register("summary", summary)
        return cur.execute(sql, _used(sql, params)).fetchall()
    finally:
        cur.close()


def matrix_page(
    access: Access,
    eval_set_id: str,
    version_ids: list[str],
    filters: MatrixFilters | None = None,
    *,
    page: int = 1,
    page_size: int = 50,
    sort: str = "contradictions",
    summary: pa.Table | None = None,
) -> MatrixPage:
    """The rows of one page (filtered and sorted in SQL over ``trace_summary``) and only those rows' cells.

    Pass the summary made for the same versions to skip the pass over eval_results (paging, sorting, filters)."""
    access.need("read")
    filters = filters or MatrixFilters()
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}; got '{sort}'.")
    page, page_size = max(1, int(page)), max(1, min(int(page_size), 1000))
    if summary is None:
        summary = trace_summary(access, eval_set_id, version_ids)
    where, where_params = _where(access, eval_set_id, filters)
    # The traces table is joined for the whole set only when a filter needs its columns.
    needs_traces = bool(filters.sources or filters.tags or (filters.text or "").strip())
    join = "JOIN traces t ON t.id = r.trace_id AND t.workspace_id = $ws" if needs_traces else ""
    sql = f"""
        WITH matched AS (SELECT r.* FROM summary r {join} WHERE {where}),
        page AS (
            SELECT *, count(*) OVER () AS total FROM matched ORDER BY {SORTS[sort]} LIMIT $limit OFFSET $offset
        )
        SELECT * FROM (
            SELECT p.total, p.trace_id, p.label, p.resolved, p.tie, p.n_ratings, p.n_contradictions, p.n_errors,
                   p.n_results, p.ran_mask, p.pass_mask, p.fail_mask, p.timestamp, t.name, t.source, t.source_id,
                   t.tags,
                   left(t.input_text, {PREVIEW_CHARS}) AS input_preview,
                   left(t.output_text, {PREVIEW_CHARS}) AS output_preview
            FROM page p JOIN traces t ON t.id = p.trace_id AND t.workspace_id = $ws
        ) ORDER BY {SORTS[sort]}
    """
    params = {
        "ws": access.workspace_id,
        "es": eval_set_id,
        "limit": page_size,
        "offset": (page - 1) * page_size,
        **where_params,
    }
    out = _on_summary(access, summary, sql, params)
    cols = [
        "trace_id", "label", "resolved", "tie", "n_ratings", "n_contradictions", "n_errors", "n_results",
        "ran_mask", "pass_mask", "fail_mask", "timestamp", "name", "source", "source_id", "tags",
        "input_preview", "output_preview",
    ]  # fmt: skip
    rows = [dict(zip(cols, r[1:], strict=True)) for r in out]
    if out:
        total = out[0][0]
    else:  # past the last page (or nothing matches): count without the page
        count_sql = f"SELECT count(*) FROM summary r {join} WHERE {where}"
        total = _on_summary(access, summary, count_sql, params)[0][0]
    _add_notes(access, eval_set_id, rows)
    if len(version_ids) <= MAX_PATTERN_EVALS:
        cells = [
            {
                "trace_id": r["trace_id"],
                "version_id": vid,
                "verdict": verdict,
                "status": cell_status(verdict, r["label"]),
            }
            for r in rows
            for i, vid in enumerate(version_ids)
            if r["ran_mask"] >> i & 1
            for verdict in [True if r["pass_mask"] >> i & 1 else False if r["fail_mask"] >> i & 1 else None]
        ]
    else:
        labels = {r["trace_id"]: r["label"] for r in rows}
        cells = page_cells(access, version_ids, [r["trace_id"] for r in rows], labels)
    return MatrixPage(rows, cells, total, page, page_size)


def cell_detail(access: Access, version_id: str, trace_id: str) -> dict | None:
    """One result with its reason, error and duration (the drill-down's cell); None when it has not run."""
    access.need("read")
    rows = access.db.fetchdicts(
        "SELECT verdict, reason, error, duration_ms, created_at FROM eval_results"
        " WHERE eval_version_id = ? AND trace_id = ? AND workspace_id = ?",
        [version_id, trace_id, access.workspace_id],
    )
    return rows[0] if rows else None


def _add_notes(access: Access, eval_set_id: str, rows: list[dict]) -> None:
    """The human note of each row: the resolution's note, else the raters' notes; and who rated it."""
    if not rows:
        return
    ids = [r["trace_id"] for r in rows]
    found = access.db.fetchall(
        "SELECT trace_id, string_agg(rater || ': ' || value || coalesce(' — ' || note, ''), '; ' ORDER BY rater),"
        " list(rater ORDER BY rater) FROM ratings"
        " WHERE workspace_id = ? AND eval_set_id = ? AND list_contains(?, trace_id) GROUP BY trace_id",
        [access.workspace_id, eval_set_id, ids],
    )
    settled = dict(
        access.db.fetchall(
            "SELECT trace_id, kind || coalesce(': ' || note, '') FROM rating_resolutions"
            " WHERE workspace_id = ? AND eval_set_id = ? AND list_contains(?, trace_id)",
            [access.workspace_id, eval_set_id, ids],
        )
    )
    by_trace = {t: (notes, raters) for t, notes, raters in found}
    for r in rows:
        notes, raters = by_trace.get(r["trace_id"], (None, []))
        r["raters"] = raters
        r["note"] = " | ".join(x for x in (settled.get(r["trace_id"]), notes) if x) or None


def page_cells(
    access: Access, version_ids: list[str], trace_ids: list[str], labels: dict[str, str | None]
) -> list[dict]:
    """Every result of ``version_ids`` on ``trace_ids``, with its status against ``labels``."""
    access.need("read")
    if not trace_ids or not version_ids:
        return []
    rows = access.db.fetchdicts(
        "SELECT trace_id, eval_version_id AS version_id, verdict, reason, error, duration_ms, created_at"
        " FROM eval_results WHERE workspace_id = ? AND eval_version_id IN (SELECT unnest(?::VARCHAR[]))"
        " AND trace_id IN (SELECT unnest(?::VARCHAR[]))",
        [access.workspace_id, version_ids, trace_ids],
    )
    for r in rows:
        r["status"] = cell_status(r["verdict"], labels.get(r["trace_id"]))
    return rows


def cell_status(verdict: bool | None, label: str | None) -> str:
    """agree | contradiction | error | unrated, as the SQL decides it."""
    if verdict is None:
        return "error"
    if label not in ("pass", "fail"):
        return "unrated"
    return "agree" if verdict == (label == "pass") else "contradiction"


# ---------------------------------------------------------------- statistics inputs


def verdict_patterns(
    access: Access, eval_set_id: str, version_ids: list[str], summary: pa.Table | None = None
) -> dict[str, np.ndarray]:
    """The set's traces grouped by (label, week of timestamp, which versions ran / passed / failed), as numpy
    columns: label ('pass' | 'fail' | None), week, ran_mask, pass_mask, fail_mask, traces.

    Bit i of a mask stands for ``version_ids[i]``; ran but neither passed nor failed = an error. Every
    per-eval figure is a weighted sum over these rows, so statistics never hold one object per result.
    """
    access.need("read")
    if len(version_ids) > MAX_PATTERN_EVALS:
        raise ValueError(f"verdict patterns take at most {MAX_PATTERN_EVALS} eval versions")
    if summary is None:
        summary = trace_summary(access, eval_set_id, version_ids)
    cur = access.db.cursor().cursor()
    try:
        cur.register("summary", summary)
        return cur.execute(
            "SELECT label, week, ran_mask, pass_mask, fail_mask, count(*) AS traces FROM summary GROUP BY ALL"
        ).fetchnumpy()
    finally:
        cur.close()


def multi_rated(access: Access, eval_set_id: str) -> tuple[list[tuple[str, str, str]], int]:
    """(trace_id, rater, value) of traces two raters or more rated, and how many traces have a pass/fail rating.

    Only multi-rated traces carry human-human agreement, so only they are read (fast at 100,000 traces).
    """
    access.need("read")
    rows = access.db.fetchall(
        "SELECT trace_id, rater, value FROM ratings WHERE workspace_id = ? AND eval_set_id = ? AND trace_id IN"
        " (SELECT trace_id FROM ratings WHERE workspace_id = ? AND eval_set_id = ? GROUP BY trace_id"
        "  HAVING count(*) > 1) ORDER BY trace_id, rater",
        [access.workspace_id, eval_set_id, access.workspace_id, eval_set_id],
    )
    rated = access.db.scalar(
        "SELECT count(DISTINCT trace_id) FROM ratings WHERE workspace_id = ? AND eval_set_id = ?"
        " AND value <> 'neutral'",
        [access.workspace_id, eval_set_id],
    )
    return rows, rated or 0


# ---------------------------------------------------------------- export and push inputs


def matrix_frame(access: Access, eval_set_id: str, version_ids: list[str]) -> pa.Table:
    """Every trace of the set with its label and one verdict per version: a long table
    (trace_id, label, resolved, note, timestamp, source, source_id, version_id, verdict, reason, error, status)."""
    access.need("read")
    sql = f"""
        WITH {_cols_sql()},
        per_trace AS (
            SELECT x.trace_id, count(*) AS n_results FROM eval_results x SEMI JOIN cols c ON c.vid = x.eval_version_id
            WHERE x.workspace_id = $ws GROUP BY x.trace_id
        ),
        {_labels_sql()},
        {_rows_sql(("n_results",))},
        notes AS (
            SELECT trace_id, string_agg(rater || ': ' || value || coalesce(' — ' || note, ''), '; ' ORDER BY rater)
                   AS rater_notes
            FROM ratings WHERE workspace_id = $ws AND eval_set_id = $es GROUP BY trace_id
        ),
        settled_notes AS (SELECT trace_id, kind || coalesce(': ' || note, '') AS settled_note
                          FROM rating_resolutions WHERE workspace_id = $ws AND eval_set_id = $es)
        SELECT m.trace_id, m.label, m.resolved,
               nullif(concat_ws(' | ', s.settled_note, n.rater_notes), '') AS note,
               t.timestamp, t.source, t.source_id, x.eval_version_id AS version_id, x.verdict, x.reason, x.error,
               x.duration_ms,
               CASE WHEN x.eval_version_id IS NULL THEN NULL WHEN x.verdict IS NULL THEN 'error'
                    WHEN m.label IS NULL THEN 'unrated' WHEN x.verdict = (m.label = 'pass') THEN 'agree'
                    ELSE 'contradiction' END AS status
        FROM set_rows m JOIN traces t ON t.id = m.trace_id AND t.workspace_id = $ws
        LEFT JOIN notes n ON n.trace_id = m.trace_id LEFT JOIN settled_notes s ON s.trace_id = m.trace_id
        LEFT JOIN eval_results x ON x.trace_id = m.trace_id AND x.workspace_id = $ws
             AND list_contains($vids::VARCHAR[], x.eval_version_id)
        ORDER BY t.timestamp DESC NULLS LAST, m.trace_id
    """
    params = {"ws": access.workspace_id, "es": eval_set_id, "vids": list(version_ids)}
    return _arrow(access, sql, params)


def set_raters(access: Access, eval_set_id: str) -> list[str]:
    """Everyone who rated in the set, by name."""
    access.need("read")
    return [
        r[0]
        for r in access.db.fetchall(
            "SELECT DISTINCT rater FROM ratings WHERE workspace_id = ? AND eval_set_id = ? ORDER BY rater",
            [access.workspace_id, eval_set_id],
        )
    ]


def version_detail(access: Access, version_id: str) -> dict | None:
    """An eval version with its code, its eval's name and set (None when not in this workspace)."""
    access.need("read")
    rows = access.db.fetchdicts(
        "SELECT v.id AS version_id, v.version, v.source, v.note, e.id AS eval_id, e.name, e.eval_set_id"
        " FROM eval_versions v JOIN evals e ON e.id = v.eval_id WHERE v.id = ? AND e.workspace_id = ?",
        [version_id, access.workspace_id],
    )
    return rows[0] if rows else None


def record_results(access: Access, eval_version_id: str, rows: list[dict], eval_run_id: str | None = None) -> int:
    """Store verdicts ``[{"trace_id", "verdict", "reason", "error", "duration_ms"}]`` of one eval version
    (the latest replaces the earlier); needs ``run``. The rows go through :func:`eval_results.store_results`."""
    columns = {
        "eval_version_id": [eval_version_id] * len(rows),
        **{k: [r.get(k) for r in rows] for k in ("trace_id", "verdict", "reason", "error", "duration_ms")},
    }
    return eval_results.store_results(access, eval_run_id, columns)


def data_version(access: Access, eval_set_id: str) -> tuple:
    """Changes whenever the set's ratings, resolutions, evals or results change: a cache key for statistics."""
    access.need("read")
    return access.db.fetchone(
        "SELECT (SELECT count(*) || '/' || coalesce(max(updated_at)::VARCHAR, '') FROM ratings"
        "        WHERE workspace_id = ? AND eval_set_id = ?),"
        " (SELECT count(*) || '/' || coalesce(max(resolved_at)::VARCHAR, '') FROM rating_resolutions"
        "        WHERE workspace_id = ? AND eval_set_id = ?),"
        " (SELECT count(*) || '/' || coalesce(max(created_at)::VARCHAR, '') FROM eval_results WHERE workspace_id = ?),"
        " (SELECT count(*) || '/' || coalesce(max(coalesce(updated_at, created_at))::VARCHAR, '') FROM evals"
        "        WHERE workspace_id = ? AND eval_set_id = ?),"
        " (SELECT count(*) || '/' || coalesce(max(updated_at)::VARCHAR, '') FROM traces WHERE workspace_id = ?),"
        " (SELECT count(*) FROM eval_set_traces WHERE workspace_id = ? AND eval_set_id = ?)",
        [access.workspace_id, eval_set_id, access.workspace_id, eval_set_id, access.workspace_id]
        + [access.workspace_id, eval_set_id, access.workspace_id, access.workspace_id, eval_set_id],
    )
