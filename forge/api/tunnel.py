"""``POST /api/v1/cli``: one `forge` command run on the server for the token's user (see forge.remote).

Files the command reads travel in the request (base64) and are written to a temporary
directory; files it writes come back in the answer. A path the client did not upload is
never opened on the server.
"""

from __future__ import annotations

import base64
import binascii
import io
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from forge import auth
from forge.api.core import ApiError, Call

# `forge` commands may run for minutes: they get threads of their own.
CLI_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="forge-api-cli")


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


def cli(call: Call) -> dict:
    """POST /cli {argv, files: [{path, data|kind}], stdin}: run a `forge` command as the token's user."""
    body = call.json()
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object: {argv, files, stdin}")
    return run_command(call.user, body)
