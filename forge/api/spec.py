"""The route table: every endpoint once, from which the routes and the OpenAPI description are made."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forge.api import read, tunnel, write
from forge.api.core import PREFIX, Call, serve


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    type: str = "string"
    required: bool = False


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # below PREFIX
    handler: Callable[..., Any]
    summary: str
    params: tuple[Param, ...] = ()
    body: dict | None = None  # the JSON request body's schema
    multipart: dict | None = None  # the multipart form's schema
    responses: dict[int, str] = field(default_factory=lambda: {200: "OK"})
    tags: tuple[str, ...] = ()


WS = Param("workspace", "workspace name or id (default: 'default')")
_OBJ: dict = {"type": "object"}
_STR = {"type": "string"}
_JOB = {202: "Accepted: the job (follow it at GET /api/v1/jobs/{id})"}


def _obj(required: tuple[str, ...] = (), **props: Any) -> dict:
    return {"type": "object", "properties": props, **({"required": list(required)} if required else {})}


TRACE_SCHEMA = _obj(
    ("output",),
    id=_STR,
    name=_STR,
    timestamp={"type": "string", "format": "date-time"},
    input={"description": "any JSON (a string, chat messages, an object)"},
    output={"description": 'any JSON; use "" for an empty output'},
    input_text=_STR,
    output_text=_STR,
    steps={"type": "array", "items": _OBJ},
    metadata=_OBJ,
    tags={"type": "array", "items": _STR},
    user_id=_STR,
    session_id=_STR,
    latency_ms={"type": "number"},
    cost_usd={"type": "number"},
    rating={"description": "pass/fail/neutral, up/down, 1/0 (stored with eval_set)"},
)


def _endpoints() -> list[Endpoint]:
    e = Endpoint
    return [
        e("GET", "", index, "What there is: the endpoints and how to authenticate", tags=("meta",)),
        e("GET", "/openapi.json", openapi_endpoint, "This OpenAPI description", tags=("meta",)),
        e("GET", "/me", read.me, "The token's user", tags=("meta",)),
        e("GET", "/workspaces", read.workspaces, "The workspaces the user belongs to", tags=("meta",)),
        e(
            "GET",
            "/traces",
            read.traces,
            "Traces, newest first, with the total",
            (
                WS,
                Param("q", "text searched in input and output"),
                Param("limit", "1-1000 (default 50)", "integer"),
                Param("offset", "rows to skip (default 0)", "integer"),
            ),
            tags=("traces",),
        ),
        e(
            "POST",
            "/traces",
            write.ingest,
            "Ingest traces sent as JSON: one trace, a list, or {traces: [...]}; bad ones named by index and field",
            (WS, Param("eval_set", "eval set for the traces' ratings")),
            body={
                "oneOf": [
                    TRACE_SCHEMA,
                    {"type": "array", "items": TRACE_SCHEMA},
                    _obj(("traces",), traces={"type": "array", "items": TRACE_SCHEMA}, eval_set=_STR),
                ]
            },
            responses={200: "Stored (errors lists the refused traces)", 400: "Nothing valid, or not traces"},
            tags=("traces",),
        ),
        e(
            "POST",
            "/traces/upload",
            write.upload,
            "Import trace files (JSONL/JSON/CSV, Langfuse JSON, OpenAI logs) as a job: `forge import`",
            (WS, Param("eval_set", "eval set for the files' ratings")),
            multipart=_obj(
                ("file",),
                file={"type": "array", "items": {"type": "string", "format": "binary"}},
                eval_set=_STR,
                criterion=_STR,
            ),
            responses={**_JOB, 400: "No file", 415: "Not multipart/form-data"},
            tags=("traces",),
        ),
        e("GET", "/traces/{id}", read.trace, "One trace in full, with its ratings", (WS,), tags=("traces",)),
        e(
            "POST",
            "/imports/langfuse",
            write.import_langfuse,
            "Import new traces from the configured Langfuse as a job: `forge import-langfuse`",
            (WS,),
            body=_obj(
                since={"type": "string", "format": "date-time"}, limit={"type": "integer"}, score=_STR, eval_set=_STR
            ),
            responses=_JOB,
            tags=("traces",),
        ),
        e(
            "POST",
            "/runs",
            write.run,
            "Run a prompt on one or more models: `forge run` (results as `forge run --json`)",
            (WS,),
            body=_obj(
                ("models", "prompt"),
                models={"type": "array", "items": _STR},
                prompt=_STR,
                vars={"type": "object", "additionalProperties": _STR},
                context={"type": "array", "items": {"oneOf": [_STR, _obj(("text",), name=_STR, text=_STR)]}},
                system=_STR,
                temperature={"type": "number"},
                max_tokens={"type": "integer"},
                timeout={"type": "number"},
            ),
            tags=("run",),
        ),
        e(
            "GET",
            "/eval-sets",
            read.eval_sets,
            "Eval sets with their criterion and rating counts",
            (WS,),
            tags=("evals",),
        ),
        e(
            "GET",
            "/eval-sets/{name}/ratings",
            read.eval_set_ratings,
            "Every rating of the set, and the human label per trace",
            (WS,),
            tags=("evals",),
        ),
        e(
            "POST",
            "/eval-sets/{name}/ratings",
            write.rate,
            "Rate traces as the token's user: {trace_id, value, note?} or {ratings: [...]}",
            (WS,),
            body={
                "oneOf": [
                    _obj(("trace_id", "value"), trace_id=_STR, value=_STR, note=_STR),
                    _obj(("ratings",), ratings={"type": "array", "items": _obj(("trace_id", "value"))}),
                ]
            },
            tags=("evals",),
        ),
        e(
            "POST",
            "/eval-sets/{name}/runs",
            write.eval_run,
            "Run the set's evals as a job: `forge eval run --eval-set NAME`",
            (WS,),
            body=_obj(eval_ids={"type": "array", "items": _STR}, all_traces={"type": "boolean"}),
            responses=_JOB,
            tags=("evals",),
        ),
        e(
            "POST",
            "/eval-sets/{name}/synth",
            write.synth,
            "Synthesise evals from the ratings (no LLM) as a job: `forge eval synth`",
            (WS,),
            responses=_JOB,
            tags=("evals",),
        ),
        e(
            "POST",
            "/eval-sets/{name}/generate",
            write.generate,
            "An LLM writes evals from the ratings, as a job: `forge eval generate`",
            (WS,),
            body=_obj(model=_STR, k={"type": "integer", "minimum": 1, "maximum": 20}),
            responses=_JOB,
            tags=("evals",),
        ),
        e(
            "GET",
            "/eval-sets/{name}/matrix",
            write.matrix,
            "The traces x evals matrix with the human rating: `forge matrix` (JSON, or CSV with format=csv)",
            (WS, Param("format", "json (default) or csv")),
            responses={200: "JSON, or text/csv"},
            tags=("evals",),
        ),
        e(
            "GET",
            "/jobs",
            write.list_jobs,
            "The workspace's latest jobs",
            (WS, Param("limit", "1-200 (default 20)", "integer")),
            tags=("jobs",),
        ),
        e("GET", "/jobs/{id}", write.get_job, "A job's status, progress and result", tags=("jobs",)),
        e(
            "POST",
            "/jobs/{id}/cancel",
            write.cancel_job,
            "Ask a running job to stop",
            responses={202: "Cancelling", 409: "Not running"},
            tags=("jobs",),
        ),
        e(
            "POST",
            "/cli",
            tunnel.cli,
            "Run one `forge` command as the token's user (what the forge command does with a server)",
            body=_obj(
                ("argv",),
                argv={"type": "array", "items": _STR},
                files={"type": "array", "items": _obj(path=_STR, data=_STR, kind=_STR)},
                stdin=_STR,
            ),
            tags=("cli",),
        ),
    ]


_COMMON = {
    401: "No valid token (missing, unknown, revoked, expired, or its user disabled)",
    403: "Not a member of the workspace, or the role does not allow it",
    404: "Not found",
    413: "Request body above FORGE_API_MAX_BODY_MB",
    429: "Above FORGE_API_RATE_LIMIT requests per minute for this token (see Retry-After)",
}


def _operation(ep: Endpoint) -> dict:
    params = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
        for n in re.findall(r"{(\w+)}", ep.path)
    ]
    params += [
        {
            "name": p.name,
            "in": "query",
            "required": p.required,
            "description": p.description,
            "schema": {"type": p.type},
        }
        for p in ep.params
    ]
    error = {"application/json": {"schema": _obj(error=_STR)}}
    responses = {
        str(code): {"description": text, **({"content": error} if code >= 400 else {})}
        for code, text in {**ep.responses, **_COMMON}.items()
    }
    op: dict = {
        "operationId": f"{ep.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', ep.path.lower()).strip('_') or 'index'}",
        "summary": ep.summary,
        "tags": list(ep.tags),
        "parameters": params,
        "responses": responses,
    }
    if ep.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ep.body}}}
    if ep.multipart is not None:
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": ep.multipart}}}
    return op


def openapi() -> dict:
    """The OpenAPI 3.1 description of every endpoint."""
    from forge.api.core import DEFAULT_MAX_BODY_MB, DEFAULT_RATE_LIMIT

    paths: dict[str, dict] = {}
    for ep in ENDPOINTS:
        paths.setdefault(PREFIX + ep.path, {})[ep.method.lower()] = _operation(ep)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Forge API",
            "version": "1",
            "description": (
                "Every endpoint but this description and the index needs `Authorization: Bearer <token>` "
                "(Settings > API tokens). Requests are limited in size (FORGE_API_MAX_BODY_MB, default "
                f"{DEFAULT_MAX_BODY_MB:g}) and rate per token (FORGE_API_RATE_LIMIT per minute, default "
                f'{DEFAULT_RATE_LIMIT}). Errors are JSON {{"error": "..."}}.'
            ),
        },
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": paths,
    }


def index(call: Call) -> dict:
    """GET /api/v1: what there is (like every endpoint, only with a token)."""
    return {
        "auth": "Authorization: Bearer <token> (create one on the Settings page)",
        "openapi": PREFIX + "/openapi.json",
        "endpoints": [f"{ep.method} {PREFIX}{ep.path}" for ep in ENDPOINTS],
        # Beside the versioned API: OTLP/HTTP trace export (the Langfuse SDK's and any OpenTelemetry exporter's).
        "otlp": "POST /api/public/otel/v1/traces (Bearer <token>, or Basic <workspace>:<token>)",
    }


def openapi_endpoint(call: Call) -> dict:
    """GET /api/v1/openapi.json (with a token, as every endpoint: no route answers without one)."""
    return openapi()


ENDPOINTS = _endpoints()


def _asgi(ep: Endpoint) -> Callable[[Request], Any]:
    pool = tunnel.CLI_POOL if ep.handler in (tunnel.cli, write.run) else None  # minutes-long work

    async def endpoint(request: Request) -> Response:
        return await serve(
            request, ep.handler, reads_body=ep.method != "GET", multipart=ep.multipart is not None, pool=pool
        )

    endpoint.__name__ = ep.handler.__name__
    return endpoint


def routes() -> list[Route]:
    """The API's routes, for forge.ui.server."""
    return [Route(PREFIX + ep.path, _asgi(ep), methods=[ep.method]) for ep in ENDPOINTS]
