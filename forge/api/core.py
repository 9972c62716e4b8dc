"""The API's plumbing: the database, token auth, size and rate limits, errors as JSON.

Every endpoint goes through :func:`serve`: the bearer token is checked for shape and rate
(per token, a token bucket), the body read up to the size limit, the token's user found
(``forge.tokens``), then the handler runs in a worker thread with a :class:`Call`. The
token itself is never echoed, logged or kept; the rate limiter holds only its hash.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forge import auth, config, tokens
from forge.config import settings
from forge.store import Database
from forge.store import workspaces as ws_store

log = logging.getLogger("forge.api")

PREFIX = "/api/v1"
MAX_LIMIT = 1000
DEFAULT_MAX_BODY_MB = 64.0
DEFAULT_RATE_LIMIT = 1200  # requests per minute per token; a minute's worth may come at once
# Handlers get threads of their own, not Starlette's (whose pool Streamlit sizes for static files).
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="forge-api")


class ApiError(Exception):
    """An HTTP error with a JSON body {"error": message}."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


class Json(JSONResponse):
    """JSON that also takes datetimes (ISO 8601) and keeps non-ASCII text as is."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_jsonable, ensure_ascii=False).encode("utf-8")


def error_response(exc: ApiError) -> Response:
    headers = dict(exc.headers or {})
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Json({"error": exc.message}, status_code=exc.status, headers=headers or None)


# ---------------------------------------------------------------- database and auth

_dbs: dict[str, Database] = {}
_dbs_lock = threading.Lock()


def database() -> Database:
    """This process's Database for FORGE_DB (DuckDB shares the file's instance with the app's)."""
    path = str(settings().db_path)
    with _dbs_lock:
        if path not in _dbs:
            _dbs[path] = Database(path)
        return _dbs[path]


def bearer(request: Request) -> str | None:
    """The bearer token of ``Authorization: Bearer <token>``, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _missing() -> ApiError:
    return ApiError(401, "missing token: send 'Authorization: Bearer <token>' (create one on the Settings page)")


def authenticate(db: Database, request: Request) -> auth.User:
    """The token's user; ApiError 401 otherwise (the token itself is never echoed or logged)."""
    token = bearer(request)
    if token is None:
        raise _missing()
    user = tokens.user_for_token(db, token)
    if user is None:
        raise ApiError(401, f"invalid token: {tokens.refusal(db, token)}")
    return user


def _who(request: Request) -> tuple[Database, auth.User]:
    """The database and the token's user, off the event loop (the first call opens and migrates the file)."""
    db = database()
    return db, authenticate(db, request)


def workspace_access(db: Database, user: auth.User, request: Request, action: str = "read") -> auth.Access:
    """``?workspace=`` (a name or an id; default 'default') checked for ``action``: 404 unknown, 403 foreign."""
    wanted = (request.query_params.get("workspace") or auth.DEFAULT_WORKSPACE).strip()
    ws_id = ws_store.workspace_id_by_name(db, wanted)
    if ws_id is None and ws_store.workspace_exists(db, wanted):
        ws_id = wanted
    if ws_id is None:
        raise ApiError(404, f"no workspace '{wanted}'")
    try:
        return auth.access(db, user, ws_id, action)
    except auth.PermissionDenied as exc:
        raise ApiError(403, f"workspace '{wanted}': {exc}") from exc


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number; got '{raw}'") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}; got {value}")
    return value


# ---------------------------------------------------------------- limits


def _number_setting(name: str, default: float) -> float:
    raw = config.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        log.warning("%s=%r is not a number; using %s", name, raw, default)
        return default
    return max(0.0, value)


def max_body_bytes() -> int:
    """FORGE_API_MAX_BODY_MB as bytes (0: no limit)."""
    return int(_number_setting("FORGE_API_MAX_BODY_MB", DEFAULT_MAX_BODY_MB) * 1024 * 1024)


def rate_per_minute() -> float:
    """FORGE_API_RATE_LIMIT: requests per minute per token (0: no limit)."""
    return _number_setting("FORGE_API_RATE_LIMIT", DEFAULT_RATE_LIMIT)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.3g} MB"


class RateLimiter:
    """Token buckets by key (a token's hash): ``rate`` per minute, a minute's worth at most at once."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float, float]] = {}  # key -> (tokens, last time, rate)
        self._lock = threading.Lock()

    def take(self, key: str, rate: float, now: float | None = None) -> float:
        """0 when a request may go now, else the seconds until it may."""
        if rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            left, last, known = self._buckets.get(key, (rate, now, rate))
            if known != rate:  # the setting changed: start full at the new rate
                left, last = rate, now
            left = min(rate, left + (now - last) * rate / 60.0)
            if left >= 1.0:
                self._buckets[key] = (left - 1.0, now, rate)
                return 0.0
            self._buckets[key] = (left, now, rate)
            return (1.0 - left) * 60.0 / rate

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


LIMITER = RateLimiter()


def check_rate(token: str) -> None:
    """ApiError 429 (with Retry-After) when ``token`` has used up its requests per minute."""
    rate = rate_per_minute()
    wait = LIMITER.take(tokens.hash_token(token), rate)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            f"rate limit: at most {rate:g} requests per minute per token (FORGE_API_RATE_LIMIT); retry in {seconds} s",
            {"Retry-After": str(seconds)},
        )


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 beyond FORGE_API_MAX_BODY_MB (before reading, when it says its length)."""
    limit = max_body_bytes()
    too_big = ApiError(
        413, f"request body too large: the limit is {_mb(limit)} (FORGE_API_MAX_BODY_MB); send smaller batches"
    )
    declared = request.headers.get("content-length")
    if limit and declared and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if limit and size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------- calls


@dataclass
class Call:
    """One authenticated request as a handler sees it."""

    db: Database
    user: auth.User
    request: Request
    body: bytes = b""
    form: Any = None  # the parsed multipart form, for upload endpoints
    _json: Any = field(default=None, repr=False)

    @property
    def query(self):
        return self.request.query_params

    def path(self, name: str) -> str:
        return self.request.path_params[name]

    def workspace(self, action: str = "read") -> auth.Access:
        return workspace_access(self.db, self.user, self.request, action)

    def json(self, default: Any = ...) -> Any:
        """The JSON body (``default`` when empty); 400 when it is not JSON."""
        if self._json is None:
            if not self.body.strip():
                if default is ...:
                    raise ApiError(400, "the request body must be JSON")
                return default
            try:
                self._json = json.loads(self.body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ApiError(400, f"the request body is not valid JSON: {exc}") from None
            except RecursionError:
                raise ApiError(400, "the request body is nested too deeply to read") from None
        return self._json

    def object(self) -> dict:
        """The JSON body as an object ({} when empty)."""
        body = self.json(default={})
        if not isinstance(body, dict):
            raise ApiError(400, f"the request body must be a JSON object; got {type(body).__name__}")
        return body


@dataclass
class Reply:
    """A handler's answer other than a plain 200 JSON object."""

    body: Any
    status: int = 200
    headers: dict | None = None


def _to_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, Reply):
        return Json(result.body, status_code=result.status, headers=result.headers)
    return Json(result)


def _domain_error(exc: Exception) -> ApiError | None:
    """The HTTP status of an error a forge function raised about its input or rights."""
    if isinstance(exc, auth.PermissionDenied):
        return ApiError(403, str(exc))
    if isinstance(exc, auth.AuthError):
        return ApiError(403, str(exc))
    if isinstance(exc, ValueError):  # bad input, named by the domain (PromptError, RunError, ...)
        return ApiError(400, str(exc))
    return None


def _run_handler(handler: Callable[[Call], Any], call: Call) -> Any:
    try:
        return handler(call)
    except ApiError:
        raise
    except Exception as exc:
        mapped = _domain_error(exc)
        if mapped is None:
            raise
        raise mapped from exc


async def serve(
    request: Request,
    handler: Callable[[Call], Any],
    reads_body: bool = False,
    multipart: bool = False,
    pool: ThreadPoolExecutor | None = None,
) -> Response:
    """Authenticate, limit, run ``handler`` in a worker thread and answer JSON (errors as {"error"})."""
    try:
        token = bearer(request)
        if token is None:
            raise _missing()
        check_rate(token)
        loop = asyncio.get_running_loop()
        db, user = await loop.run_in_executor(pool or _POOL, _who, request)
        body = await read_body(request) if reads_body or multipart else b""
        form = await _parse_form(request, body) if multipart else None
        call = Call(db, user, request, body, form)
        result = await loop.run_in_executor(pool or _POOL, _run_handler, handler, call)
        return _to_response(result)
    except ApiError as exc:
        return error_response(exc)
    except Exception as exc:  # noqa: BLE001 - a bug answers 500 with its type; the log gets it (keys redacted)
        log.error("%s %s failed: %s", request.method, request.url.path, config.redact(repr(exc)))
        return error_response(ApiError(500, f"internal error ({type(exc).__name__}); see the server log"))


async def _parse_form(request: Request, body: bytes) -> Any:
    """The multipart form of an already-read (size-checked) body."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "send the files as multipart/form-data (curl -F file=@traces.jsonl)")
    try:
        return await Request(request.scope, replay).form(max_files=100, max_fields=100)
    except Exception as exc:  # noqa: BLE001 - a malformed form is the client's error
        raise ApiError(400, f"malformed multipart form: {exc}") from None
