"""OpenTelemetry ingestion: ``POST /api/public/otel/v1/traces`` (OTLP over HTTP), served beside the UI.

Langfuse's own path, so an application instrumented with the langfuse SDK sends its traces to
Forge by pointing its host at it: ``LANGFUSE_HOST`` (or ``LANGFUSE_BASE_URL``) = the Forge URL,
``LANGFUSE_SECRET_KEY`` = a Forge API token, ``LANGFUSE_PUBLIC_KEY`` = the workspace (a value that
names no workspace sends to ``default``, with a warning in the response). Any OpenTelemetry
exporter works too, with ``Authorization: Bearer <token>`` and ``?workspace=`` or an
``X-Forge-Workspace`` header. Protobuf or JSON bodies, gzip or deflate or none; at most
``MAX_BODY_BYTES`` (413 beyond). Spans that cannot be read are rejected and counted in the
response's ``partial_success`` (as the OTLP specification asks); the others are kept. Spans of a
trace that arrive in several requests are merged into one stored trace (source ``otel``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forge import auth, tokens
from forge.api import database
from forge.api.core import ApiError, check_rate
from forge.store import Database
from forge.store import otel as otel_store
from forge.store import traces as trace_store
from forge.store import workspaces as ws_store
from forge.traces import otel

log = logging.getLogger(__name__)

PATH = "/api/public/otel/v1/traces"
# Decompressed size: a langfuse SDK batch is at most a few MB; this leaves room without risking memory.
MAX_BODY_BYTES = 16 * 1024 * 1024
# Decoding and storing run off the event loop (which also serves the app's pages).
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="forge-otel")
# A trace's spans may arrive in concurrent requests: read-merge-write one batch at a time.
_MERGE = threading.Lock()
# google.rpc.Code values for the error Status bodies OTLP asks for.
_RPC_CODES = {400: 3, 401: 16, 403: 7, 413: 8, 415: 3, 429: 8, 500: 13}


class OtlpError(Exception):
    """An HTTP error answered with a google.rpc.Status body (protobuf or JSON, like the request)."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


@dataclass
class IngestResult:
    """What one request did: spans kept, traces new and updated, rejected spans, a warning."""

    spans: int
    imported: int
    updated: int
    rejected: list[str]
    warning: str | None = None

    def error_message(self) -> str:
        return "; ".join(m for m in (otel.rejection_message(self.rejected), self.warning) if m)


# ---------------------------------------------------------------- credentials and workspace


def credentials(request: Request) -> tuple[str | None, str | None]:
    """(token, public key): Bearer <token>, or Basic base64(public key : token) as the langfuse SDK sends."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value, None
    if scheme.lower() == "basic" and value:
        try:
            user, sep, secret = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError):
            return None, None
        return (secret or None) if sep else None, user or None
    return None, None


def workspace_access(
    db: Database, user: auth.User, request: Request, public_key: str | None
) -> tuple[auth.Access, str | None]:
    """The workspace to import into, checked for ``import``: (access, a warning or None).

    ``?workspace=`` or ``X-Forge-Workspace`` must name one of the user's workspaces; a Basic public
    key that names no workspace at all means ``default`` (the langfuse SDK insists on some key).
    """
    named = (request.query_params.get("workspace") or request.headers.get("x-forge-workspace") or "").strip()
    lenient = not named
    wanted = named or (public_key or "").strip() or auth.DEFAULT_WORKSPACE
    ws_id = ws_store.workspace_id_by_name(db, wanted)
    if ws_id is None and ws_store.workspace_exists(db, wanted):
        ws_id = wanted
    warning = None
    shown = _shown(wanted)
    try:
        if ws_id is None:
            if not lenient:
                raise OtlpError(403, f"No workspace {shown} that you belong to.")
            if wanted != auth.DEFAULT_WORKSPACE:
                warning = f"the public key {shown} names no workspace: the traces went to '{auth.DEFAULT_WORKSPACE}'"
            return auth.resolve_access(db, user, auth.DEFAULT_WORKSPACE, "import"), warning
        return auth.access(db, user, ws_id, "import"), warning
    except auth.PermissionDenied as exc:
        raise OtlpError(403, f"workspace {shown}: {exc}") from None


def _shown(name: str) -> str:
    """A workspace name as messages quote it: shortened, and never a token pasted in the wrong place."""
    if name.startswith(tokens.PREFIX):
        return "(a token, not a workspace name)"
    return f"'{name[:64]}'"


# ---------------------------------------------------------------- body


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, decompressed (gzip, deflate); OtlpError 413 beyond ``limit`` bytes, 400/415 otherwise."""
    too_big = OtlpError(413, f"the request body is larger than {limit // (1024 * 1024)} MB: send smaller batches")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise OtlpError(415, f"Content-Encoding '{encoding[:40]}' is not supported: use gzip, deflate or none")
    inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header, told apart by the data
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise OtlpError(400, f"the body is not valid {encoding} data ({exc})") from None
    if len(out) > limit:
        raise too_big
    if not inflater.eof:
        raise OtlpError(400, f"the {encoding} body is truncated")
    return out


# ---------------------------------------------------------------- ingestion


def ingest(access: auth.Access, body: bytes, content_type: str) -> IngestResult:
    """Decode an OTLP request body and store its traces (merged with what is stored); OtlpError 400 if undecodable."""
    try:
        decoded = otel.decode_request(body, content_type)
    except otel.OtlpBodyError as exc:
        raise OtlpError(400, str(exc)) from None
    parts, rejected = otel.group_spans(decoded.spans)
    rejected = decoded.rejected + rejected
    if not parts:
        return IngestResult(0, 0, 0, rejected)
    with _MERGE:
        stored = otel_store.traces_by_source_id(access, otel.SOURCE, [p.trace_id for p in parts])
        traces, kept = [], 0
        for p in parts:
            try:
                traces.append(otel.merge_trace(stored[p.trace_id], p) if p.trace_id in stored else otel.parts_trace(p))
                kept += len(p.steps)
            except ValueError as exc:  # a value the unified trace refuses (TraceFieldError names it)
                rejected += [f"trace {p.trace_id}: {exc}"] * len(p.steps)
        result = trace_store.upsert_traces(access, traces)
    return IngestResult(kept, result["imported"], result["updated"], rejected)


def _is_json(request: Request) -> bool:
    return "json" in request.headers.get("content-type", "").lower()


def _response(request: Request, result: IngestResult) -> Response:
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    answer = ExportTraceServiceResponse()
    message = result.error_message()
    if result.rejected or message:
        answer.partial_success.rejected_spans = len(result.rejected)
        answer.partial_success.error_message = message
    headers = {"X-Forge-Traces": f"imported={result.imported}, updated={result.updated}"}
    if _is_json(request):
        body = json_format.MessageToJson(answer, indent=None).encode("utf-8")
        return Response(body, media_type="application/json", headers=headers)
    return Response(answer.SerializeToString(), media_type="application/x-protobuf", headers=headers)


def _error(request: Request, exc: OtlpError) -> Response:
    from google.protobuf import json_format
    from google.rpc import status_pb2

    status = status_pb2.Status(code=_RPC_CODES.get(exc.status, 2), message=exc.message)
    headers = {"WWW-Authenticate": 'Basic realm="Forge", Bearer'} if exc.status == 401 else exc.headers
    if _is_json(request):
        body = json_format.MessageToJson(status, indent=None).encode("utf-8")
        return Response(body, status_code=exc.status, media_type="application/json", headers=headers)
    return Response(status.SerializeToString(), exc.status, media_type="application/x-protobuf", headers=headers)


async def traces_endpoint(request: Request) -> Response:
    """POST /api/public/otel/v1/traces: an OTLP trace export, as the token's user, into one workspace."""
    loop = asyncio.get_running_loop()
    try:
        token, public_key = credentials(request)
        if token is None:
            said = "unreadable" if request.headers.get("authorization") else "missing"
            raise OtlpError(
                401,
                f"{said} credentials: send 'Authorization: Bearer <token>', or Basic with the token as the"
                " password (LANGFUSE_SECRET_KEY); create a token on the Settings page",
            )
        try:
            check_rate(token)  # the same per-token budget as /api/v1 (exporters retry after Retry-After)
        except ApiError as exc:
            raise OtlpError(exc.status, exc.message, exc.headers) from None
        db = database()
        user = await loop.run_in_executor(_POOL, tokens.user_for_token, db, token)
        if user is None:  # says why (unknown, revoked, expired, disabled user), never the token
            raise OtlpError(401, "invalid token: " + await loop.run_in_executor(_POOL, tokens.refusal, db, token))
        access, warning = await loop.run_in_executor(_POOL, workspace_access, db, user, request, public_key)
        body = await read_body(request)
        result = await loop.run_in_executor(_POOL, ingest, access, body, request.headers.get("content-type", ""))
        result.warning = warning
        return _response(request, result)
    except OtlpError as exc:
        return _error(request, exc)
    except Exception as exc:  # noqa: BLE001 - the exporter gets an OTLP answer; the log gets the traceback
        log.exception("OTLP ingestion failed")
        return _error(request, OtlpError(500, f"the server could not store the traces ({type(exc).__name__})"))


def routes() -> list[Route]:
    """The OTLP ingestion route, for forge.ui.server."""
    return [Route(PATH, traces_endpoint, methods=["POST"])]
