"""Playground runs: one row per model call, kept with everything needed to compare or re-run it.

Each saved run is also recorded as a unified trace (source ``playground``,
source_id = run id) so it can be rated and evaluated like an imported one.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from datetime import time as dtime

from forge.store.access import Access, User
from forge.store.traces import upsert_traces
from forge.store.types import Trace

_COLUMNS = (
    "id, workspace_id, user_id, batch_id, created_at, model, provider, system_prompt,"
    " prompt_template, prompt, variables, context, params, output, input_tokens, output_tokens,"
    " tokens_estimated, latency_ms, ttft_ms, cost_usd, error, trace_id, prompt_version_id"
)
_JSON_COLUMNS = ("variables", "context", "params")
# "name vN" of the saved prompt version a run was made with (NULL for a run of an unsaved prompt).
_PROMPT_LABEL = (
    "(SELECT p.name || ' v' || v.version FROM prompt_versions v JOIN prompts p ON p.id = v.prompt_id"
    " WHERE v.id = {run}.prompt_version_id) AS prompt_version"
)
_LIST_COLUMNS = (
    "r.id, r.batch_id, r.created_at, r.model, u.username AS user, r.prompt_template, r.output,"
    " r.input_tokens, r.output_tokens, r.tokens_estimated, r.latency_ms, r.ttft_ms, r.cost_usd,"
    " r.error, r.trace_id, r.prompt_version_id, " + _PROMPT_LABEL.format(run="r")
)


def save_runs(access: Access, runs: list[dict]) -> list[str]:
    """Store each run (a dict with every column of ``runs``) and record it as a trace; returns the run ids."""
    access.need("run")
    db = access.db
    names = [c.strip() for c in _COLUMNS.split(",")]
    # prompt_version_id is optional in the row: older callers make runs without a saved prompt.
    rows = [[json.dumps(r[c]) if c in _JSON_COLUMNS else r.get(c) for c in names] for r in runs]
    db.write(lambda cur: cur.executemany(f"INSERT INTO runs ({_COLUMNS}) VALUES ({', '.join('?' * len(names))})", rows))
    # The runs are kept first; then each is recorded as a playground trace and linked to it.
    ids = upsert_traces(access, [trace_for_run(r, access.user) for r in runs])["ids"]
    db.write(
        lambda cur: cur.executemany(
            "UPDATE runs SET trace_id = ? WHERE id = ?", [[tid, r["id"]] for tid, r in zip(ids, runs, strict=True)]
        )
    )
    return [r["id"] for r in runs]


def trace_for_run(run: dict, actor: User | None = None) -> Trace:
    """A run in the unified trace shape (DESIGN.md), source ``playground``."""
    ts = run["created_at"]
    iso = ts.isoformat() + "Z" if isinstance(ts, datetime) else str(ts)
    params = run.get("params") or {}
    error = run.get("error")
    inp = {
        "system": run.get("system_prompt"),
        "prompt": run["prompt"],
        "template": run["prompt_template"],
        "variables": run.get("variables") or {},
        "context": run.get("context") or [],
    }
    input_text = (f"[system]\n{run['system_prompt']}\n\n" if run.get("system_prompt") else "") + run["prompt"]
    step = {
        "id": run["id"],
        "parent_id": None,
        "type": "generation",
        "name": run["model"],
        "input": inp,
        "output": run.get("output"),
        "model": run["model"],
        "start_time": iso,
        "end_time": None,
        "level": "ERROR" if error else "DEFAULT",
        "status_message": error,
        "input_tokens": run.get("input_tokens"),
        "output_tokens": run.get("output_tokens"),
        "cost_usd": run.get("cost_usd"),
    }
    return {
        "id": run["id"],
        "name": f"playground {run['model']}",
        "timestamp": iso,
        "input": inp,
        "output": run.get("output") if not error else {"error": error, "output": run.get("output")},
        "input_text": input_text,
        "output_text": run.get("output") or (f"[error] {error}" if error else ""),
        "steps": [step],
        "metadata": {
            "batch_id": run["batch_id"],
            "model": run["model"],
            "provider": run.get("provider"),
            "params": params,
            "error": error,
            "tokens_estimated": bool(run.get("tokens_estimated")),
            "ttft_ms": run.get("ttft_ms"),
            "input_tokens": run.get("input_tokens"),
            "output_tokens": run.get("output_tokens"),
            "run_by": actor.username if actor else None,
            "prompt_version_id": run.get("prompt_version_id"),
            # e.g. a batch run's dataset row and expected output, for evals that compare against it
            **(run.get("trace_metadata") or {}),
        },
        "tags": ["playground", run.get("provider") or ""] + (["error"] if error else []),
        "user_id": actor.username if actor else None,
        "session_id": run["batch_id"],
        "latency_ms": run.get("latency_ms"),
        "cost_usd": run.get("cost_usd"),
        "source": "playground",
        "source_id": run["id"],
    }


def _decode(row: dict) -> dict:
    for col in _JSON_COLUMNS:
        value = row.get(col)
        if isinstance(value, str):
            try:
                row[col] = json.loads(value)
            except ValueError:
                pass
    return row


def get_run(access: Access, run_id: str) -> dict | None:
    """One run with every stored field, or None (also None for another workspace's run)."""
    runs = get_runs(access, [run_id])
    return runs[0] if runs else None


def get_runs(access: Access, run_ids: list[str]) -> list[dict]:
    """Runs by id, in the order asked (missing ones left out), e.g. two to compare."""
    access.need("read")
    if not run_ids:
        return []
    rows = access.db.fetchdicts(
        f"SELECT {_COLUMNS}, {_PROMPT_LABEL.format(run='runs')} FROM runs"
        f" WHERE workspace_id = ? AND id IN ({', '.join('?' * len(run_ids))})",
        [access.workspace_id, *run_ids],
    )
    by_id = {r["id"]: _decode(r) for r in rows}
    return [by_id[i] for i in run_ids if i in by_id]


def list_runs(
    access: Access,
    model: str | list[str] | None = None,
    text: str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    errors_only: bool = False,
    batch_id: str | None = None,
    limit: int = 500,
) -> list[dict]:
    """Runs of the workspace, newest first, filtered by model, text (prompt/output/error), dates, errors."""
    access.need("read")
    where, params = ["r.workspace_id = ?"], [access.workspace_id]
    models = [model] if isinstance(model, str) else list(model or [])
    if models:
        where.append(f"r.model IN ({', '.join('?' * len(models))})")
        params += models
    if text:
        where.append("(r.prompt ILIKE ? OR r.prompt_template ILIKE ? OR r.output ILIKE ? OR r.error ILIKE ?)")
        params += [f"%{text}%"] * 4
    if since:
        where.append("r.created_at >= ?")
        params.append(since if isinstance(since, datetime) else datetime.combine(since, dtime.min))
    if until:
        # A date means the whole of that day.
        end = until if isinstance(until, datetime) else datetime.combine(until, dtime.min) + timedelta(days=1)
        where.append("r.created_at < ?" if not isinstance(until, datetime) else "r.created_at <= ?")
        params.append(end)
    if errors_only:
        where.append("r.error IS NOT NULL")
    if batch_id:
        where.append("r.batch_id = ?")
        params.append(batch_id)
    params.append(int(limit))
    return access.db.fetchdicts(
        f"SELECT {_LIST_COLUMNS} FROM runs r LEFT JOIN users u ON u.id = r.user_id"
        f" WHERE {' AND '.join(where)} ORDER BY r.created_at DESC, r.model LIMIT ?",
        params,
    )


def run_models(access: Access) -> list[str]:
    """Distinct models used in the workspace, for the filter."""
    access.need("read")
    return [
        r[0]
        for r in access.db.fetchall(
            "SELECT DISTINCT model FROM runs WHERE workspace_id = ? ORDER BY model", [access.workspace_id]
        )
    ]
