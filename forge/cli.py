"""The `forge` command (also `python -m forge`). Thin: parse, log in, call forge, print.

Exit codes: 0 success, 1 the work ran but failed, 2 bad input (one-line reason on stderr).
Where users exist every command that touches the database needs a login:
FORGE_USER and FORGE_PASSWORD (or --user and an interactive password prompt).
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any, Callable

from forge import auth
from forge.store import Database, connect


class UsageError(Exception):
    """Bad input: printed as one line on stderr, exit code 2."""


# ---------------------------------------------------------------- helpers


def emit(obj: Any, as_json: bool, text: str | None = None) -> None:
    """One JSON object per line with --json, else the human text."""
    if as_json:
        print(json.dumps(obj, default=str, ensure_ascii=False), flush=True)
    else:
        print(text if text is not None else json.dumps(obj, default=str, indent=2), flush=True)


def open_db() -> Database:
    return connect()


def login(db: Database, args: argparse.Namespace) -> auth.User:
    """The acting user from --user/FORGE_USER and FORGE_PASSWORD (or a prompt)."""
    if not auth.has_users(db):
        raise UsageError(
            "no users yet: create the admin first with `forge users add NAME --role admin`"
            " (password on stdin) or by starting the app with `make run`"
        )
    username = getattr(args, "user", None) or os.environ.get("FORGE_USER")
    if not username:
        raise UsageError("login required: set FORGE_USER and FORGE_PASSWORD (or pass --user)")
    password = os.environ.get("FORGE_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise UsageError("login required: set FORGE_PASSWORD for user " + username)
        password = getpass.getpass(f"Password for {username}: ")
    try:
        return auth.authenticate(db, username, password, channel="cli")
    except auth.AuthError as exc:
        raise UsageError(f"login failed: {exc}") from exc


def workspace_for(db: Database, actor: auth.User, args: argparse.Namespace, action: str = "read"):
    try:
        return auth.resolve_workspace(db, actor, getattr(args, "workspace", None), action)
    except auth.PermissionDenied as exc:
        raise UsageError(str(exc)) from exc


# ---------------------------------------------------------------- commands


def cmd_users_add(args: argparse.Namespace) -> int:
    """forge users add NAME --role admin|analyst|viewer  (password on stdin)."""
    password = sys.stdin.readline().rstrip("\r\n") if not sys.stdin.isatty() else getpass.getpass(
        f"New password for {args.name}: "
    )
    db = open_db()
    try:
        if not auth.has_users(db):
            if args.role != "admin":
                raise UsageError("the first user must be an admin: use --role admin")
            user = auth.create_first_admin(db, args.name, password, args.display_name, args.email)
        else:
            actor = login(db, args)
            user = auth.create_user(
                db, actor, args.name, password, args.role, args.display_name, args.email
            )
            for ws_name in args.workspace or []:
                ws = auth.resolve_workspace(db, actor, ws_name)
                auth.add_member(db, actor, ws.id, user.username)
    except auth.AuthError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        db.close()
    emit(
        {"username": user.username, "role": user.role, "id": user.id},
        args.json,
        f"created {user.role} '{user.username}'",
    )
    return 0


def _not_yet(name: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        raise UsageError(f"`forge {name}` is not available in this version yet")

    return handler


# Filled in by the issues that build each capability.
cmd_import = _not_yet("import")
cmd_import_langfuse = _not_yet("import-langfuse")
cmd_run = _not_yet("run")
cmd_eval_run = _not_yet("eval run")
cmd_eval_synth = _not_yet("eval synth")
cmd_eval_generate = _not_yet("eval generate")
cmd_matrix = _not_yet("matrix")


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--user", help="log in as this user (default: $FORGE_USER; password from $FORGE_PASSWORD)")
    ws = argparse.ArgumentParser(add_help=False)
    ws.add_argument("--workspace", metavar="W", help="workspace name (default: 'default', created on first use)")
    js = argparse.ArgumentParser(add_help=False)
    js.add_argument("--json", action="store_true", help="print one JSON object per line")

    p = argparse.ArgumentParser(
        prog="forge",
        description="Forge: run prompts across LLMs, import and rate traces, generate and run evals.",
        epilog="Settings: FORGE_DB (database path), FORGE_USER/FORGE_PASSWORD (login), provider keys from env.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser(
        "import", parents=[common, ws, js], help="import traces from files",
        description="Import traces from JSONL/JSON/CSV files, Langfuse trace JSON or OpenAI chat logs.\n"
        "Example: forge import data/demo_traces.jsonl --eval-set 'Grounded answers'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("files", nargs="+", metavar="FILE")
    s.add_argument("--eval-set", metavar="NAME", help="put each row's `rating` into this eval set")
    s.set_defaults(handler=lambda a: cmd_import(a))

    s = sub.add_parser(
        "import-langfuse", parents=[common, ws, js], help="import traces from Langfuse",
        description="Import traces from the Langfuse host in LANGFUSE_HOST with LANGFUSE_PUBLIC_KEY/"
        "LANGFUSE_SECRET_KEY. Incremental: only what is newer than the last import.\n"
        "Example: forge import-langfuse --since 2026-11-01T00:00:00Z --limit 500",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--since", metavar="ISO", help="only traces at or after this time")
    s.add_argument("--limit", type=int, metavar="N", help="at most N traces")
    s.add_argument("--score", metavar="NAME", help="import this Langfuse score as ratings")
    s.add_argument("--eval-set", metavar="NAME", help="eval set for --score ratings (default: the score name)")
    s.set_defaults(handler=lambda a: cmd_import_langfuse(a))

    s = sub.add_parser(
        "run", parents=[common, ws, js], help="run one prompt across several models",
        description="Send one prompt to several models at once and compare.\n"
        "Example: forge run --model offline/echo --model openai/gpt-4o-mini --prompt 'Summarise {{text}}' --var text=hello",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--model", action="append", required=True, metavar="M", help="provider/model, repeatable")
    s.add_argument("--prompt", required=True, metavar="TEXT")
    s.add_argument("--system", metavar="TEXT", help="system prompt")
    s.add_argument("--context", action="append", default=[], metavar="FILE", help="context file, repeatable")
    s.add_argument("--var", action="append", default=[], metavar="k=v", help="template variable, repeatable")
    s.add_argument("--temperature", type=float)
    s.add_argument("--max-tokens", type=int)
    s.add_argument("--timeout", type=float, metavar="S", help="per-request timeout in seconds")
    s.set_defaults(handler=lambda a: cmd_run(a))

    ev = sub.add_parser("eval", help="run, synthesise and generate eval functions")
    evsub = ev.add_subparsers(dest="eval_command", metavar="SUBCOMMAND", required=True)
    s = evsub.add_parser(
        "run", parents=[common, ws, js], help="run evals in the sandbox",
        description="Run an eval file over a trace file (no database), or the eval set's current evals over its traces.\n"
        "Examples: forge eval run my_eval.py --traces traces.jsonl --json\n"
        "          forge eval run --eval-set 'Grounded answers'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("eval_file", nargs="?", metavar="EVAL.py")
    s.add_argument("--traces", metavar="FILE")
    s.add_argument("--eval-set", metavar="NAME")
    s.add_argument("--timeout", type=float, default=2.0, metavar="S", help="per-call time limit (default 2 s)")
    s.set_defaults(handler=lambda a: cmd_eval_run(a))
    s = evsub.add_parser(
        "synth", parents=[common, ws, js], help="synthesise an eval from labelled traces (no LLM)",
        description="Example: forge eval synth --traces labelled.jsonl --out eval.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--traces", metavar="LABELLED_FILE")
    s.add_argument("--out", metavar="EVAL.py")
    s.add_argument("--eval-set", metavar="NAME")
    s.set_defaults(handler=lambda a: cmd_eval_synth(a))
    s = evsub.add_parser(
        "generate", parents=[common, ws, js], help="have an LLM write evals from the set's ratings",
        description="Example: forge eval generate --eval-set 'Grounded answers' --model openai/gpt-4o-mini",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--eval-set", required=True, metavar="NAME")
    s.add_argument("--model", metavar="M")
    s.set_defaults(handler=lambda a: cmd_eval_generate(a))

    s = sub.add_parser(
        "matrix", parents=[common, ws, js], help="traces x evals agreement matrix",
        description="Example: forge matrix --eval-set 'Grounded answers' --csv matrix.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--eval-set", required=True, metavar="NAME")
    s.add_argument("--csv", metavar="OUT")
    s.set_defaults(handler=lambda a: cmd_matrix(a))

    us = sub.add_parser("users", help="manage users")
    ussub = us.add_subparsers(dest="users_command", metavar="SUBCOMMAND", required=True)
    s = ussub.add_parser(
        "add", parents=[common, js], help="add a user (password on stdin)",
        description="Add a user; the password is read from stdin. The very first user must be an admin;\n"
        "after that an admin must be logged in (FORGE_USER/FORGE_PASSWORD).\n"
        "Example: echo 's3cret-passphrase' | forge users add alice --role analyst --workspace default",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("name", metavar="NAME")
    s.add_argument("--role", required=True, choices=auth.ROLES)
    s.add_argument("--display-name", metavar="TEXT", help="full name shown in the app")
    s.add_argument("--email")
    s.add_argument("--workspace", action="append", metavar="W", help="add the user to this workspace, repeatable")
    s.set_defaults(handler=cmd_users_add)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UsageError as exc:
        print(f"forge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("forge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
