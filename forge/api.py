"""The JSON API (/api/v1), served beside the UI by forge.ui.server; bearer-token auth.

Every request carries ``Authorization: Bearer <token>`` (tokens are made on the Settings
page); the token's user then goes through the same ``auth.access`` check as the pages.
401 without a valid token, 403 for a workspace the user is not a member of, 404 for
what does not exist (a trace in a workspace of someone else is unknown, not forbidden).
``POST /api/v1/cli`` runs one `forge` command for the token's user (see forge.remote).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forge import auth, tokens
from forge.config import settings
from forge.store import Database
from forge.store import ratings as rating_store
from forge.store import traces as trace_store
from forge.store import workspaces as ws_store

PREFIX = "/api/v1"
MAX_LIMIT = 1000
# `forge` commands may run for minutes: they get threads of their own, not Starlette's
# (whose pool Streamlit sizes for static files).
_CLI_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="forge-api-cli")


class ApiError(Exception):
    """An HTTP error with a JSON body {"error": message}."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_jsonable, ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------- plumbing

_dbs: dict[str, Database] = {}
_dbs_lock = threading.Lock()


def database() -> Database:
    """This process's Database for FORGE_DB (DuckDB shares the file's instance with the app's)."""
    path = str(settings().db_path)
    with _dbs_lock:
        if path not in _dbs:
            _dbs[path] = Database(path)
        return _dbs[path]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authenticate(db: Database, request: Request) -> auth.User:
    """The token's user; ApiError 401 otherwise (the token itself is never echoed or logged)."""
    token = _bearer(request)
    if token is None:
        raise ApiError(401, "missing token: send 'Authorization: Bearer <token>' (create one on the Settings page)")
    user = tokens.user_for_token(db, token)
    if user is None:
        raise ApiError(401, "invalid token: unknown, revoked, or its user is disabled")
    return user


def _workspace_access(db: Database, user: auth.User, request: Request, action: str = "read") -> auth.Access:
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


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
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


def _endpoint(fn: Callable[[Database, auth.User, Request], Any]) -> Callable[[Request], Response]:
    """A GET endpoint: authenticate, call ``fn``, answer JSON (ApiError -> its status)."""

    def endpoint(request: Request) -> Response:
        try:
            db = database()
            user = authenticate(db, request)
            return _Json(fn(db, user, request))
        except ApiError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return _Json({"error": exc.message}, status_code=exc.status, headers=headers)

    endpoint.__name__ = fn.__name__
    return endpoint


def _ws(access: auth.Access) -> dict:
    return {"id": access.workspace.id, "name": access.workspace.name}


# ---------------------------------------------------------------- endpoints


def me(db: Database, user: auth.User, request: Request) -> dict:
    """GET /me: who the token belongs to."""
    return {"id": user.id, "username": user.username, "name": user.name, "email": user.email, "role": user.role}


def workspaces(db: Database, user: auth.User, request: Request) -> dict:
    """GET /workspaces: the workspaces the user is a member of."""
    return {
        "workspaces": [
            {"id": w.id, "name": w.name, "description": w.description} for w in auth.workspaces_for(db, user)
        ]
    }


def traces(db: Database, user: auth.User, request: Request) -> dict:
    """GET /traces?workspace=&q=&limit=&offset=: newest first, ``q`` searched in input and output text."""
    access = _workspace_access(db, user, request)
    limit = _int_param(request, "limit", 50, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0, 10**9)
    filters = trace_store.TraceFilters(text=request.query_params.get("q") or None)
    # The store pages by page number: read the one or two pages that cover [offset, offset + limit).
    first = offset // limit + 1
    page = trace_store.list_traces(access, filters, page=first, page_size=limit)
    rows = page.rows[offset % limit :]
    if offset % limit and len(page.rows) == limit:
        rows += trace_store.list_traces(access, filters, page=first + 1, page_size=limit).rows
    return {"workspace": _ws(access), "total": page.total, "limit": limit, "offset": offset, "traces": rows[:limit]}


def trace(db: Database, user: auth.User, request: Request) -> dict:
    """GET /traces/{id}[?workspace=]: one trace in full, with its ratings."""
    trace_id = request.path_params["id"]
    if request.query_params.get("workspace"):
        candidates = [_workspace_access(db, user, request)]
    else:
        candidates = []
        for w in auth.workspaces_for(db, user):
            try:
                candidates.append(auth.access(db, user, w.id, "read"))
            except auth.PermissionDenied:
                continue
    for access in candidates:
        found = trace_store.get_trace(access, trace_id)
        if found is not None:
            return {"workspace": _ws(access), **found, "ratings": rating_store.ratings_for_trace(access, trace_id)}
    raise ApiError(404, f"no trace '{trace_id}' in your workspaces")


def eval_sets(db: Database, user: auth.User, request: Request) -> dict:
    """GET /eval-sets?workspace=: the workspace's eval sets with their rating counts."""
    access = _workspace_access(db, user, request)
    return {"workspace": _ws(access), "eval_sets": rating_store.list_eval_sets(access)}


def eval_set_ratings(db: Database, user: auth.User, request: Request) -> dict:
    """GET /eval-sets/{name}/ratings?workspace=: every rating, and the human label per trace."""
    from forge.review.labels import human_labels

    access = _workspace_access(db, user, request)
    name = request.path_params["name"]
    found = next((s for s in rating_store.list_eval_sets(access) if s["name"] == name or s["id"] == name), None)
    if found is None:
        raise ApiError(404, f"no eval set '{name}' in workspace '{access.workspace.name}'")
    labels = human_labels(access, found["id"])
    return {
        "workspace": _ws(access),
        "eval_set": found,
        "ratings": rating_store.set_ratings(access, found["id"]),
        "labels": labels.labels,
        "ties": labels.ties,
    }


def index(request: Request) -> Response:
    """GET /api/v1: what there is (no token needed)."""
    return _Json(
        {
            "auth": "Authorization: Bearer <token> (create one on the Settings page)",
            "endpoints": [
                "GET /api/v1/me",
                "GET /api/v1/workspaces",
                "GET /api/v1/traces?workspace=&q=&limit=&offset=",
                "GET /api/v1/traces/{id}[?workspace=]",
                "GET /api/v1/eval-sets?workspace=",
                "GET /api/v1/eval-sets/{name}/ratings?workspace=",
                "POST /api/v1/cli {argv, files, stdin}",
            ],
        }
    )


# ---------------------------------------------------------------- forge commands


class _ThreadRouted(io.TextIOBase):
    """sys.stdout/stderr/stdin: per thread, a command's own buffer while it runs on the server."""

    def __init__(self, fallback: Any, local: threading.local, slot: str):
        self._fallback = fallback
        self._local = local
        self._slot = slot

    def _target(self) -> Any:
        return getattr(self._local, self._slot, None) or self._fallback

    def write(self, s: str) -> int:
        return self._target().write(s)

    def flush(self) -> None:
        self._target().flush()

    def readline(self, size: int = -1) -> str:
        return self._target().readline(size)

    def read(self, size: int = -1) -> str:
        return self._target().read(size)

    def isatty(self) -> bool:
        return self._target().isatty()

    def fileno(self) -> int:
        return self._target().fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


_streams = threading.local()
_install_lock = threading.Lock()


def _route_std_streams() -> None:
    """Route sys.stdout/stderr/stdin through per-thread buffers (once per process)."""
    import sys

    with _install_lock:
        for slot in ("stdout", "stderr", "stdin"):
            current = getattr(sys, slot)
            if not isinstance(current, _ThreadRouted):
                setattr(sys, slot, _ThreadRouted(current, _streams, slot))


def _server_path(root: Path, kind: str, index: int, given: str) -> Path:
    # The basename is kept: commands name files in messages and ratings ("file:NAME").
    base = Path(given).name or "file"
    path = root / kind / str(index) / base
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def run_command(user: auth.User, body: dict) -> dict:
    """Run one `forge` command for ``user``: {stdout, stderr, exit_code, files}."""
    from forge import cli, remote

    argv = body.get("argv")
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise ApiError(400, "argv must be a list of strings")
    uploads = {f.get("path"): f for f in body.get("files") or [] if isinstance(f, dict)}
    stdin = body.get("stdin")
    _route_std_streams()
    out, err = io.StringIO(), io.StringIO()
    _streams.stdout, _streams.stderr, _streams.stdin = out, err, io.StringIO(stdin if isinstance(stdin, str) else "")
    acting = cli.acting_user.set(user)
    replace: dict[str, str] = {}
    produced: list[tuple[str, Path]] = []
    code = 1
    with tempfile.TemporaryDirectory(prefix="forge-cli-") as tmp:
        root = Path(tmp)
        try:
            parser = cli.build_parser()
            try:
                args = parser.parse_args(argv)
            except SystemExit as exc:  # usage error or --help: argparse has written to our stderr
                code = int(exc.code or 0)
                raise _Done from None
            unmapped = remote.unmapped_file_options(parser, args)
            if unmapped:  # never read or write a path on the server's disk for a client
                err.write(f"forge: {', '.join(unmapped)} cannot be used through a Forge server (it names a file)\n")
                code = 2
                raise _Done
            n = 0
            for attr in remote.INPUT_FILES:
                value = getattr(args, attr, None)
                if value is None:
                    continue
                mapped = []
                for given in value if isinstance(value, list) else [value]:
                    if attr in remote.NAME_OR_FILE and not (uploads.get(given) or {}).get("data"):
                        # The client has no such file: it is a name, never a path on the server's disk.
                        mapped.append(given)
                        setattr(args, f"{attr}_is_name", True)
                        continue
                    n += 1
                    path = _server_path(root, "in", n, given)
                    _materialise(path, uploads.get(given))
                    replace[str(path)] = given
                    mapped.append(str(path))
                setattr(args, attr, mapped if isinstance(value, list) else mapped[0])
            for attr in remote.OUTPUT_FILES:
                given = getattr(args, attr, None)
                if isinstance(given, str) and given:
                    n += 1
                    path = _server_path(root, "out", n, given)
                    replace[str(path)] = given
                    produced.append((given, path))
                    setattr(args, attr, str(path))
            if getattr(args, "command", None) == "import" and not getattr(args, "criterion", None):
                from forge.demo import criterion_for

                # As run locally: the demo file imported into the demo eval set brings its criterion.
                args.criterion = criterion_for(
                    [uploads.get(g, {}).get("abs") or g for g in replace.values()], args.eval_set
                )
            code = cli.run_parsed(args)
        except _Done:
            pass
        except ApiError:
            raise
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:  # noqa: BLE001 - a crash in a command is its exit code 1, as it would be locally
            err.write(f"forge: {type(exc).__name__}: {exc}\n")
            code = 1
        finally:
            cli.acting_user.reset(acting)
            _streams.stdout = _streams.stderr = _streams.stdin = None
        files = [
            {"path": given, "data": base64.b64encode(path.read_bytes()).decode("ascii")}
            for given, path in produced
            if path.is_file()
        ]
    stdout, stderr = out.getvalue(), err.getvalue()
    for server_path, given in sorted(replace.items(), key=lambda kv: -len(kv[0])):
        stdout, stderr = stdout.replace(server_path, given), stderr.replace(server_path, given)
    return {"stdout": stdout, "stderr": stderr, "exit_code": code, "files": files}


class _Done(Exception):
    """The command ended before it ran (argparse exit)."""


def _materialise(path: Path, upload: dict | None) -> None:
    """Recreate what the client had at this path: the file's bytes, a directory, or nothing."""
    if upload is None or upload.get("kind") == "missing":
        return
    if upload.get("kind") == "dir":
        path.mkdir(exist_ok=True)
        return
    try:
        path.write_bytes(base64.b64decode(upload.get("data") or "", validate=True))
    except (binascii.Error, ValueError):
        raise ApiError(400, f"file '{upload.get('path')}' is not valid base64") from None


async def cli_endpoint(request: Request) -> Response:
    """POST /cli {argv, files: [{path, data|kind}], stdin}: run a `forge` command as the token's user."""
    try:
        db = database()
        user = authenticate(db, request)
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "the body must be JSON: {argv, files, stdin}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object: {argv, files, stdin}")
        result = await asyncio.get_running_loop().run_in_executor(_CLI_POOL, run_command, user, body)
        return _Json(result)
    except ApiError as exc:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _Json({"error": exc.message}, status_code=exc.status, headers=headers)


def routes() -> list[Route]:
    """The API's routes, for forge.ui.server."""
    return [
        Route(PREFIX, index, methods=["GET"]),
        Route(PREFIX + "/me", _endpoint(me), methods=["GET"]),
        Route(PREFIX + "/workspaces", _endpoint(workspaces), methods=["GET"]),
        Route(PREFIX + "/traces", _endpoint(traces), methods=["GET"]),
        Route(PREFIX + "/traces/{id}", _endpoint(trace), methods=["GET"]),
        Route(PREFIX + "/eval-sets", _endpoint(eval_sets), methods=["GET"]),
        Route(PREFIX + "/eval-sets/{name}/ratings", _endpoint(eval_set_ratings), methods=["GET"]),
        Route(PREFIX + "/cli", cli_endpoint, methods=["POST"]),
    ]
