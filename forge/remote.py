"""The `forge` command against a running Forge server (FORGE_URL, or a server on this database).

The command is parsed here first (so ``--help`` and usage errors stay local), then sent
to ``POST /api/v1/cli`` with FORGE_TOKEN: the files it reads travel with it (base64),
the files it writes come back and are written here. Its stdout, stderr and exit code
are printed and returned as they are, so a script sees the same either way.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import re
import socket
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forge.config import get, redact, server_info_path, settings

# Namespace attributes that name files the command reads, and files it writes. The server maps
# exactly these to temporary copies: a new command option naming a file must be listed here,
# or the server would read or write that path on its own disk.
INPUT_FILES = ("files", "traces", "context", "eval_file", "dataset")
# Of those, options that name a file or, when the client has no such file, something stored (a dataset's name).
NAME_OR_FILE = ("dataset",)
OUTPUT_FILES = ("csv", "out")
# Metavars that say an option names a file (DESIGN.md's spelling: FILE, OUT, EVAL.py, LABELLED_FILE).
_FILE_METAVAR = re.compile(r"FILE|OUT|PATH|DIR|\.py$")
CLI_PATH = "/api/v1/cli"
TIMEOUT_S = 3600.0  # an eval run or a generation may take long; the server does the waiting


@dataclass(frozen=True)
class Server:
    url: str
    how: str  # "FORGE_URL" or the info file that announced it


def _paths(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def needs_database(args: argparse.Namespace) -> bool:
    """False for the file-only commands (`eval run FILE --traces`, `eval synth --traces --out`)."""
    return not (getattr(args, "command", None) == "eval" and not getattr(args, "eval_set", None))


def unmapped_file_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """Options given in ``args`` that name a file but are not in INPUT_FILES/OUTPUT_FILES (refused remotely)."""
    found: list[str] = []
    known = set(INPUT_FILES) | set(OUTPUT_FILES)
    stack = [parser]
    while stack:
        for action in stack.pop()._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
            elif isinstance(action.metavar, str) and _FILE_METAVAR.search(action.metavar):
                if action.dest not in known and getattr(args, action.dest, None) not in (None, [], ""):
                    found.append((action.option_strings or [action.dest])[0])
    return sorted(set(found))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _port_open(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=0.5):
            return True
    except OSError:
        return False


def running_server(db_path: Path | str | None = None) -> Server | None:
    """The server announced beside the database, when its process is alive and its port answers."""
    path = server_info_path(db_path or settings().db_path)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        url, pid = str(info["url"]), int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid() or not _pid_alive(pid) or not _port_open(url):
        return None  # left behind by a server that died, or this very process
    return Server(url.rstrip("/"), str(path))


def server_for(args: argparse.Namespace) -> Server | None:
    """Where this command should run: FORGE_URL, else a server running on the database, else here (None)."""
    url = get("FORGE_URL")
    if url:
        return Server(url.rstrip("/"), "FORGE_URL")
    if not needs_database(args):
        return None
    return running_server()


def _upload(paths: list[str]) -> list[dict]:
    out = []
    for p in paths:
        entry: dict[str, Any] = {"path": p, "abs": os.path.abspath(p)}
        path = Path(p)
        if path.is_dir():
            entry["kind"] = "dir"
        else:
            try:
                entry["data"] = base64.b64encode(path.read_bytes()).decode("ascii")
            except OSError:
                entry["kind"] = "missing"  # the command on the server reports it, naming this path
        out.append(entry)
    return out


def request_body(argv: list[str], args: argparse.Namespace) -> dict:
    """The JSON sent for one command: argv, the files it reads, stdin when it reads it."""
    seen: set[str] = set()
    files: list[str] = []
    for attr in INPUT_FILES:
        for p in _paths(getattr(args, attr, None)):
            if p not in seen:
                seen.add(p)
                files.append(p)
    body: dict[str, Any] = {"argv": list(argv), "files": _upload(files)}
    if getattr(args, "command", None) == "users":
        # `users add` reads the new password from stdin; ask here, where the terminal is.
        name = getattr(args, "name", "")
        body["stdin"] = (
            sys.stdin.readline() if not sys.stdin.isatty() else getpass.getpass(f"New password for {name}: ") + "\n"
        )
    return body


def _fail(message: str, code: int) -> int:
    # FORGE_URL may carry user:password (a proxy in front of Forge): never printed.
    print(f"forge: {redact(message)}", file=sys.stderr)
    return code


def send(server: Server, argv: list[str], args: argparse.Namespace) -> int:
    """Run the command on ``server``; print its output, write its files, return its exit code."""
    token = get("FORGE_TOKEN")
    where = "FORGE_URL" if server.how == "FORGE_URL" else f"a Forge server on this database ({server.url})"
    if not token:
        return _fail(
            f"{where} runs this command, and it needs an API token: create one on the app's Settings page"
            f" ({server.url}, Settings > API tokens) and set FORGE_TOKEN",
            2,
        )
    body = json.dumps(request_body(argv, args)).encode("utf-8")
    req = urllib.request.Request(
        server.url + CLI_PATH,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            result = json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        detail = _error_text(exc)
        if exc.code == 401:
            return _fail(f"the server at {server.url} refused FORGE_TOKEN ({detail}): create a new token", 2)
        if exc.code in (400, 403, 404, 413):
            return _fail(f"the server at {server.url} refused the command: {detail}", 2)
        return _fail(f"the server at {server.url} failed (HTTP {exc.code}): {detail}", 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return _fail(f"cannot reach the Forge server at {server.url} ({where}): {reason}", 1)
    for f in result.get("files") or []:
        try:
            Path(f["path"]).write_bytes(base64.b64decode(f["data"]))
        except OSError as exc:
            sys.stdout.write(result.get("stdout") or "")
            return _fail(f"cannot write {f['path']}: {exc.strerror or exc}", 1)
    sys.stdout.write(result.get("stdout") or "")
    sys.stdout.flush()
    sys.stderr.write(result.get("stderr") or "")
    sys.stderr.flush()
    return int(result.get("exit_code", 1))


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read().decode("utf-8")).get("error") or exc.reason)
    except (ValueError, OSError, AttributeError):
        return str(exc.reason)
