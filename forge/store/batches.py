"""Batch runs: a prompt version over a dataset's rows on several models; each call is a run (and its trace)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa

from forge.store import utcnow
from forge.store.access import Access

_COLS = (
    "b.id, b.prompt_version_id, b.prompt_label, b.dataset_version_id, b.dataset_label, b.models, b.job_id,"
    " b.status, b.stop_reason, b.total, b.done, b.estimate_usd, b.max_cost_usd, b.spent_usd, b.eval_set_id,"
    " b.eval_run_id, b.created_at, b.finished_at, u.username AS author"
)


def _decode(row: dict) -> dict:
    if isinstance(row.get("models"), str):
        row["models"] = json.loads(row["models"])
    return row


def create_batch(
    access: Access,
    batch_id: str,
    *,
    prompt_version_id: str | None,
    prompt_label: str,
    dataset_version_id: str | None,
    dataset_label: str,
    models: Sequence[str],
    total: int,
    estimate_usd: float | None,
    max_cost_usd: float | None,
    job_id: str | None = None,
) -> None:
    access.need("run")
    access.db.execute(
        "INSERT INTO batches (id, workspace_id, prompt_version_id, prompt_label, dataset_version_id, dataset_label,"
        " models, job_id, status, total, done, estimate_usd, max_cost_usd, spent_usd, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, 0, ?, ?, 0, ?, ?)",
        [
            batch_id,
            access.workspace_id,
            prompt_version_id,
            prompt_label,
            dataset_version_id,
            dataset_label,
            json.dumps(list(models)),
            job_id,
            int(total),
            estimate_usd,
            max_cost_usd,
            access.user.id,
            utcnow(),
        ],
    )


def add_cells(access: Access, batch_id: str, cells: Sequence[tuple[int, str, str]], spent_usd: float) -> None:
    """Record calls (row index, model, run id) of a batch and its spend so far."""
    access.need("run")
    if not cells:
        return
    table = pa.table(
        {
            "row_index": pa.array([c[0] for c in cells], pa.int32()),
            "model": pa.array([c[1] for c in cells], pa.string()),
            "run_id": pa.array([c[2] for c in cells], pa.string()),
        }
    )

    def txn(cur):
        cur.register("forge_batch_cells", table)
        try:
            cur.execute(
                "INSERT INTO batch_cells (batch_id, workspace_id, row_index, model, run_id)"
                " SELECT ?, ?, row_index, model, run_id FROM forge_batch_cells"
                " ON CONFLICT (batch_id, row_index, model) DO UPDATE SET run_id = excluded.run_id",
                [batch_id, access.workspace_id],
            )
            cur.execute(
                "UPDATE batches SET done = (SELECT count(*) FROM batch_cells WHERE batch_id = ?), spent_usd = ?"
                " WHERE id = ? AND workspace_id = ?",
                [batch_id, spent_usd, batch_id, access.workspace_id],
            )
        finally:
            cur.unregister("forge_batch_cells")

    access.db.write(txn)


def finish_batch(access: Access, batch_id: str, status: str, stop_reason: str | None, spent_usd: float) -> None:
    access.need("run")
    access.db.execute(
        "UPDATE batches SET status = ?, stop_reason = ?, spent_usd = ?, finished_at = ?"
        " WHERE id = ? AND workspace_id = ?",
        [status, stop_reason, spent_usd, utcnow(), batch_id, access.workspace_id],
    )


def set_judged(access: Access, batch_id: str, eval_set_id: str, eval_run_id: str) -> None:
    access.need("run")
    access.db.execute(
        "UPDATE batches SET eval_set_id = ?, eval_run_id = ? WHERE id = ? AND workspace_id = ?",
        [eval_set_id, eval_run_id, batch_id, access.workspace_id],
    )


def get_batch(access: Access, batch_id: str) -> dict | None:
    access.need("read")
    rows = access.db.fetchdicts(
        f"SELECT {_COLS} FROM batches b LEFT JOIN users u ON u.id = b.created_by WHERE b.workspace_id = ? AND b.id = ?",
        [access.workspace_id, batch_id],
    )
    return _decode(rows[0]) if rows else None


def list_batches(access: Access, limit: int = 50) -> list[dict]:
    """The workspace's batches, newest first."""
    access.need("read")
    rows = access.db.fetchdicts(
        f"SELECT {_COLS} FROM batches b LEFT JOIN users u ON u.id = b.created_by WHERE b.workspace_id = ?"
        " ORDER BY b.created_at DESC LIMIT ?",
        [access.workspace_id, int(limit)],
    )
    return [_decode(r) for r in rows]


def cells(access: Access, batch_id: str) -> list[dict]:
    """Every call of a batch with its run's figures, by row then model."""
    access.need("read")
    rows = access.db.fetchdicts(
        "SELECT c.row_index, c.model, c.run_id, r.trace_id, r.variables, r.output, r.error, r.input_tokens,"
        " r.output_tokens, r.tokens_estimated, r.latency_ms, r.cost_usd FROM batch_cells c"
        " JOIN batches b ON b.id = c.batch_id JOIN runs r ON r.id = c.run_id AND r.workspace_id = b.workspace_id"
        " WHERE b.workspace_id = ? AND c.batch_id = ? ORDER BY c.row_index, c.model",
        [access.workspace_id, batch_id],
    )
    for r in rows:
        if isinstance(r.get("variables"), str):
            r["variables"] = json.loads(r["variables"])
    return rows


def verdicts(
    access: Access, batch_id: str, version_ids: Sequence[str]
) -> list[tuple[str, str, bool | None, str | None, str | None]]:
    """(trace_id, eval_version_id, verdict, reason, error): these versions' latest verdicts on the batch's traces."""
    access.need("read")
    if not version_ids:
        return []
    return access.db.fetchall(
        "SELECT e.trace_id, e.eval_version_id, e.verdict, e.reason, e.error FROM batch_cells c"
        " JOIN batches b ON b.id = c.batch_id JOIN runs r ON r.id = c.run_id"
        " JOIN eval_results e ON e.trace_id = r.trace_id AND e.workspace_id = b.workspace_id"
        " WHERE b.workspace_id = ? AND c.batch_id = ? AND list_contains(?, e.eval_version_id)",
        [access.workspace_id, batch_id, list(version_ids)],
    )
