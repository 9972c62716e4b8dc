"""Endpoints that change things or start work: ingestion, imports, runs, evals, ratings, matrix, jobs.

Each mirrors a `forge` command and calls the same forge functions it does; long work
(imports of files or from Langfuse, eval runs, synthesis, generation) is a job: the answer
is 202 with the job, and ``GET /api/v1/jobs/{id}`` follows it.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from forge import auth, jobs
from forge.api.core import PREFIX, ApiError, Call, Reply, int_param
from forge.api.read import find_set, readable, ws_json

# ---------------------------------------------------------------- jobs


def job_json(job: jobs.Job) -> dict:
    return {
        "id": job.id,
        "workspace_id": job.workspace_id,
        "kind": job.kind,
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "fraction": job.fraction,
        "message": job.message,
        "params": job.params,
        "result": job.result,
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "url": f"{PREFIX}/jobs/{job.id}",
    }


def accepted(job: jobs.Job) -> Reply:
    """202 with the job and where to follow it."""
    return Reply({"job": job_json(job)}, 202, {"Location": f"{PREFIX}/jobs/{job.id}"})


def _find_job(call: Call) -> tuple[auth.Access, jobs.Job]:
    job_id = call.path("id")
    for access in readable(call):
        found = jobs.get(call.db, call.user, access.workspace_id, job_id)
        if found is not None:
            return access, found
    raise ApiError(404, f"no job '{job_id}' in your workspaces")


def list_jobs(call: Call) -> dict:
    """GET /jobs?workspace=&limit=: the workspace's latest jobs, newest first."""
    access = call.workspace()
    limit = int_param(call.request, "limit", 20, 1, 200)
    recent = jobs.recent(call.db, call.user, access.workspace_id, limit=limit)
    return {"workspace": ws_json(access), "jobs": [job_json(j) for j in recent]}


def get_job(call: Call) -> dict:
    """GET /jobs/{id}: status, progress and (when done) the result."""
    _access, job = _find_job(call)
    return {"job": job_json(job)}


def cancel_job(call: Call) -> Reply:
    """POST /jobs/{id}/cancel: ask a running job to stop at its next progress report."""
    access, job = _find_job(call)
    if not job.active:
        raise ApiError(409, f"job '{job.id}' is already {job.status}")
    if not jobs.cancel(call.db, call.user, access.workspace_id, job.id):
        raise ApiError(409, f"job '{job.id}' is not running in this server")
    return Reply({"job": job_json(jobs.get(call.db, call.user, access.workspace_id, job.id)), "cancelling": True}, 202)


# ---------------------------------------------------------------- traces in


def ingest(call: Call) -> Reply:
    """POST /traces: a trace, a list, or {"traces": [...], "eval_set"?}; bad items named by index and field."""
    from forge.traces.ingest import IngestError, ingest, items_of

    body = call.json()
    try:
        items = items_of(body)
    except IngestError as exc:
        raise ApiError(400, str(exc)) from None
    eval_set = call.query.get("eval_set") or (body.get("eval_set") if isinstance(body, dict) else None)
    access = call.workspace("import")
    summary = ingest(access, items, eval_set=eval_set or None)
    summary["workspace"] = ws_json(access)
    stored = summary["imported"] + summary["updated"]
    if not stored:
        first = summary["errors"][0]
        field = f" [{first['field']}]" if first["field"] else ""
        summary["error"] = f"nothing valid was found: trace {first['index']}{field}: {first['message']}"
        return Reply(summary, 400)
    return Reply(summary, 200)


def upload(call: Call) -> Reply:
    """POST /traces/upload (multipart: file=..., eval_set=, criterion=): `forge import FILE...` as a job."""
    from forge import import_jobs

    files = [f for f in call.form.getlist("file") if hasattr(f, "filename")]
    if not files:
        raise ApiError(400, "no file: send one or more files in the multipart field 'file'")
    uploads = [(f.filename or "upload.jsonl", f.file.read()) for f in files]
    eval_set = (call.form.get("eval_set") or call.query.get("eval_set") or "").strip() or None
    criterion = (call.form.get("criterion") or "").strip()  # describes the eval set if this import creates it
    access = call.workspace("import")
    job = import_jobs.start_file_import(call.db, call.user, access.workspace_id, uploads, eval_set, criterion)
    return accepted(job)


def import_langfuse(call: Call) -> Reply:
    """POST /imports/langfuse {since?, limit?, score?, eval_set?}: `forge import-langfuse` as a job."""
    from forge import import_jobs

    body = call.object()
    limit = body.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ApiError(400, f"limit must be a positive whole number; got {limit!r}")
    for key in ("since", "score", "eval_set"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise ApiError(400, f"{key} must be a string")
    access = call.workspace("import")
    job = import_jobs.start_langfuse_import(
        call.db,
        call.user,
        access.workspace_id,
        since=body.get("since"),
        limit=limit,
        score=body.get("score"),
        eval_set=body.get("eval_set"),
    )
    return accepted(job)


# ---------------------------------------------------------------- run


def _strings(body: dict, key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, f"{key} must be a string or a list of strings")
    return value


def run(call: Call) -> dict:
    """POST /runs {models, prompt, vars?, context?, system?, temperature?, max_tokens?, timeout?}: `forge run`."""
    from forge.llm.playground import run_prompt
    from forge.llm.prompts import PromptSpec, context_from_bytes
    from forge.llm.retry import RetryPolicy

    body = call.object()
    models = [m.strip() for m in _strings(body, "models") + _strings(body, "model") if m.strip()]
    if not models:
        raise ApiError(400, "no models: give at least one in 'models' (e.g. [\"offline/echo\"])")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ApiError(400, "prompt must be a non-empty string")
    variables = body.get("vars") or {}
    if not isinstance(variables, dict):
        raise ApiError(400, 'vars must be an object {"name": "value"}')
    context = body.get("context") or []
    if isinstance(context, str):
        context = [context]
    if not isinstance(context, list):
        raise ApiError(400, 'context must be a list of texts or {"name", "text"} objects')
    blocks = []
    for i, item in enumerate(context):
        name, text = (f"context-{i + 1}.txt", item) if isinstance(item, str) else (None, None)
        if isinstance(item, dict):
            name, text = str(item.get("name") or f"context-{i + 1}.txt"), item.get("text")
        if not isinstance(text, str):
            raise ApiError(400, f"context[{i}]: expected a text or an object with a 'text' string")
        blocks.append(context_from_bytes(name, text.encode("utf-8")))
    timeout = body.get("timeout")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ApiError(400, "timeout must be a positive number of seconds")
    spec = PromptSpec(
        template=prompt,
        variables={str(k): str(v) for k, v in variables.items()},
        context=blocks,
        system=body.get("system"),
        temperature=body.get("temperature"),
        max_tokens=body.get("max_tokens"),
        stream=True,
    )
    spec.render()  # a missing {{variable}} is bad input (PromptError: 400), found before anything is sent
    access = call.workspace("run")
    out = run_prompt(access, models, spec, policy=RetryPolicy.from_settings(timeout=timeout))
    return {"workspace": ws_json(access), "results": [r.to_json() for r in out.results]}


# ---------------------------------------------------------------- eval sets


def rate(call: Call) -> dict:
    """POST /eval-sets/{name}/ratings {trace_id, value, note?} or {"ratings": [...]}: the user's own ratings."""
    from forge.review import ratings as review_ratings
    from forge.store import traces as trace_store

    body = call.object()
    items = body.get("ratings") if "ratings" in body else [body]
    if not isinstance(items, list) or not items:
        raise ApiError(400, 'send {"trace_id", "value", "note"?} or {"ratings": [...]}')
    access = call.workspace("rate")
    eval_set = find_set(access, call.path("name"))
    rows = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("trace_id"), str):
            raise ApiError(400, f"ratings[{i}].trace_id: expected a trace id")
        try:
            value = review_ratings.normalize_rating(item.get("value"))
        except ValueError as exc:
            raise ApiError(400, f"ratings[{i}].value: {exc}") from None
        note = item.get("note")
        if note is not None and not isinstance(note, str):
            raise ApiError(400, f"ratings[{i}].note: expected a string")
        rows.append({"trace_id": item["trace_id"], "value": value, "note": note})
    known = trace_store.get_traces(access, [r["trace_id"] for r in rows])
    missing = [r["trace_id"] for r in rows if r["trace_id"] not in known]
    if missing:
        raise ApiError(404, f"no trace '{missing[0]}' in workspace '{access.workspace.name}'")
    stored = review_ratings.upsert_ratings(access, eval_set["id"], rows)
    return {"workspace": ws_json(access), "eval_set": eval_set["name"], "stored": stored, "rater": call.user.username}


def eval_run(call: Call) -> Reply:
    """POST /eval-sets/{name}/runs {eval_ids?, all_traces?}: `forge eval run --eval-set NAME` as a job."""
    from forge import eval_jobs

    body = call.object()
    eval_ids = body.get("eval_ids")
    if eval_ids is not None and (not isinstance(eval_ids, list) or not all(isinstance(e, str) for e in eval_ids)):
        raise ApiError(400, "eval_ids must be a list of eval ids")
    access = call.workspace("run")
    eval_set = find_set(access, call.path("name"))
    scope = "workspace" if body.get("all_traces") else "set"
    job = eval_jobs.start_eval_run(
        call.db, call.user, access.workspace_id, eval_set["id"], eval_ids, scope, label=eval_set["name"]
    )
    return accepted(job)


def synth(call: Call) -> Reply:
    """POST /eval-sets/{name}/synth: `forge eval synth --eval-set NAME` as a job."""
    from forge import generation_jobs

    access = call.workspace("edit")
    eval_set = find_set(access, call.path("name"))
    return accepted(generation_jobs.start_synthesis(call.db, call.user, access.workspace_id, eval_set["id"]))


def generate(call: Call) -> Reply:
    """POST /eval-sets/{name}/generate {model?, k?}: `forge eval generate --eval-set NAME` as a job."""
    from forge import generation_jobs
    from forge.evals import authoring

    body = call.object()
    model = body.get("model") or authoring.default_model()
    if not model or not isinstance(model, str):
        raise ApiError(
            400,
            "no LLM provider is configured on the server: set OPENAI_API_KEY or ANTHROPIC_API_KEY there, or send"
            ' {"model": "provider/model"}; POST .../synth makes evals without an LLM',
        )
    k = body.get("k", 5)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 20:
        raise ApiError(400, f"k must be a whole number from 1 to 20; got {k!r}")
    access = call.workspace("edit")
    access.need("run")
    eval_set = find_set(access, call.path("name"))
    return accepted(generation_jobs.start_generation(call.db, call.user, access.workspace_id, eval_set["id"], model, k))


def matrix(call: Call) -> Any:
    """GET /eval-sets/{name}/matrix?format=json|csv: `forge matrix` (traces x evals with the human rating)."""
    from forge import matrix as matrix_mod

    fmt = (call.query.get("format") or "json").lower()
    if fmt not in ("json", "csv"):
        raise ApiError(400, f"format must be json or csv; got '{fmt}'")
    access = call.workspace()
    eval_set = find_set(access, call.path("name"))
    cols = matrix_mod.columns(access, eval_set["id"])
    frame = matrix_mod.cli_frame(access, eval_set["id"], cols)
    if fmt == "csv":
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in eval_set["name"]) or "matrix"
        return Response(
            matrix_mod.to_csv(frame),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{safe}-matrix.csv"'},
        )
    counts = matrix_mod.cell_counts(frame, cols)
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return {
        "workspace": ws_json(access),
        "eval_set": eval_set["name"],
        "traces": len(frame),
        "evals": [c["label"] for c in cols],
        **counts,
        "rows": rows,
    }
