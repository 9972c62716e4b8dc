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
from collections.abc import Callable
from typing import Any

from forge import auth
from forge.store import Database, DatabaseBusy, connect
from forge.store.types import ImportSummary


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


def workspace_for(db: Database, actor: auth.User, args: argparse.Namespace, action: str = "read") -> auth.Access:
    try:
        return auth.resolve_access(db, actor, getattr(args, "workspace", None), action)
    except auth.PermissionDenied as exc:
        raise UsageError(str(exc)) from exc


# ---------------------------------------------------------------- commands


def cmd_users_add(args: argparse.Namespace) -> int:
    """forge users add NAME --role admin|analyst|viewer  (password on stdin)."""
    password = (
        sys.stdin.readline().rstrip("\r\n")
        if not sys.stdin.isatty()
        else getpass.getpass(f"New password for {args.name}: ")
    )
    db = open_db()
    try:
        if not auth.has_users(db):
            if args.role != "admin":
                raise UsageError("the first user must be an admin: use --role admin")
            user = auth.create_first_admin(db, args.name, password, args.display_name, args.email)
        else:
            actor = login(db, args)
            user = auth.create_user(db, actor, args.name, password, args.role, args.display_name, args.email)
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
def _import_text(summary: ImportSummary) -> str:
    lines = [
        f"imported {summary['imported']}, updated {summary['updated']}, skipped {summary['skipped']},"
        f" failed {summary['failed']}"
    ]
    r = summary.get("ratings") or {}
    if r.get("stored") or r.get("skipped"):
        lines.append(f"ratings: {r.get('stored', 0)} stored in '{r.get('eval_set')}', {r.get('skipped', 0)} skipped")
    for kind in ("errors", "warnings"):
        for e in summary.get(kind) or []:
            where = ":".join(str(x) for x in (e.get("file"), e.get("line")) if x not in (None, ""))
            field = f" [{e['field']}]" if e.get("field") else ""
            lines.append(f"  {kind[:-1]}: {where}{field} {e['message']}")
    return "\n".join(lines)


def cmd_import(args: argparse.Namespace) -> int:
    """forge import FILE... [--eval-set NAME]: JSONL/JSON/CSV, Langfuse JSON, OpenAI chat logs."""
    from forge.traces.files import import_files

    db = open_db()
    try:
        actor = login(db, args)
        access = workspace_for(db, actor, args, "import")
        try:
            from forge.demo import criterion_for

            # A criterion describes the eval set when this import creates it; an existing one keeps its own.
            criterion = args.criterion or criterion_for(args.files, args.eval_set)
            summary = import_files(access, args.files, eval_set=args.eval_set, criterion=criterion)
        except (auth.PermissionDenied, ValueError) as exc:
            raise UsageError(str(exc)) from exc
    finally:
        db.close()
    emit(summary.to_json(), args.json, _import_text(summary))
    if summary.nothing_valid:
        first = (summary["errors"] or [{"message": "no rows"}])[0]
        where = ":".join(str(x) for x in (first.get("file"), first.get("line")) if x not in (None, ""))
        raise UsageError(f"nothing imported: {where} {first['message']}".replace("  ", " "))
    return 0


def cmd_import_langfuse(args: argparse.Namespace) -> int:
    """forge import-langfuse [--since ISO] [--limit N] [--score NAME [--eval-set NAME]]."""
    from forge.traces import langfuse

    db = open_db()
    try:
        actor = login(db, args)
        access = workspace_for(db, actor, args, "import")
        try:
            summary = langfuse.import_langfuse(
                access, since=args.since, limit=args.limit, score=args.score, eval_set=args.eval_set
            )
        except (auth.PermissionDenied, ValueError) as exc:
            raise UsageError(str(exc)) from exc
        except langfuse.LangfuseError as exc:
            print(f"forge: {exc}", file=sys.stderr)
            return 1
    finally:
        db.close()
    emit(summary.to_json(), args.json, _import_text(summary))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """forge run --model M [--model M ...] --prompt TEXT [--context FILE ...] [--var k=v ...] [--json]."""
    from forge.llm.playground import run_prompt
    from forge.llm.prompts import PromptError, PromptSpec, context_from_file, parse_vars
    from forge.llm.retry import RetryPolicy

    models = [m.strip() for m in args.model or [] if m and m.strip()]
    if not models:
        raise UsageError("no models: give at least one --model provider/model (e.g. offline/echo)")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    try:
        spec = PromptSpec(
            template=args.prompt,
            variables=parse_vars(args.var),
            context=[context_from_file(path) for path in args.context],
            system=args.system,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
            stream=True,
        )
        spec.render()  # a missing {{variable}} is bad input, found before anything is sent
    except PromptError as exc:
        raise UsageError(str(exc)) from exc
    db = open_db()
    try:
        actor = login(db, args)
        access = workspace_for(db, actor, args, "run")
        out = run_prompt(access, models, spec, policy=RetryPolicy.from_settings(timeout=args.timeout))
    finally:
        db.close()
    if args.json:
        for res in out.results:
            emit(res.to_json(), True)
    else:
        print(_run_table(out.results), flush=True)
    return 0


def _run_table(results) -> str:
    """A readable summary table, then each model's output under its name."""

    def cost(r):
        return "unknown" if r.cost_usd is None else f"${r.cost_usd:.6f}"

    def toks(r):
        if r.input_tokens is None:
            return "-"
        return f"{r.input_tokens}/{r.output_tokens}" + (" (est.)" if r.tokens_estimated else "")

    rows = [("model", "status", "tokens in/out", "latency", "cost")] + [
        (
            r.model,
            "ok" if r.ok else "ERROR",
            toks(r),
            "-" if r.latency_ms is None else f"{r.latency_ms:.0f} ms",
            cost(r) if r.ok else "-",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    for r in results:
        lines += ["", f"--- {r.model} " + "-" * max(3, 60 - len(r.model))]
        lines.append(r.output if r.ok else f"ERROR: {r.error}")
    return "\n".join(lines)


def cmd_eval_run(args: argparse.Namespace) -> int:
    """forge eval run EVAL.py --traces FILE (a file, no database); --eval-set comes later."""
    if args.eval_file and args.traces:
        from forge.evals.filerun import run_eval_file

        return run_eval_file(args.eval_file, args.traces, as_json=args.json, timeout_s=args.timeout)
    if args.eval_file or args.traces:
        raise UsageError("forge eval run EVAL.py needs --traces FILE (and --traces needs EVAL.py)")
    return _not_yet("eval run --eval-set")(args)


cmd_eval_synth = _not_yet("eval synth")
cmd_eval_generate = _not_yet("eval generate")


def cmd_matrix(args: argparse.Namespace) -> int:
    """forge matrix --eval-set NAME [--csv OUT] [--push-langfuse]: the traces x evals matrix of an eval set."""
    from forge import matrix
    from forge.store import ratings as rating_store
    from forge.traces.langfuse import LangfuseError

    db = open_db()
    try:
        # pushing writes to Langfuse in the workspace's name: the same right as rating
        access = workspace_for(db, login(db, args), args, "rate" if args.push_langfuse else "read")
        found = [s for s in rating_store.list_eval_sets(access) if s["name"] == args.eval_set]
        if not found:
            raise UsageError(f"no eval set '{args.eval_set}' in workspace '{access.workspace.name}'")
        eval_set, cols = found[0], matrix.columns(access, found[0]["id"])
        frame = matrix.cli_frame(access, eval_set["id"], cols)
        if args.csv:
            try:
                frame.to_csv(args.csv, index=False)
            except OSError as exc:
                raise UsageError(f"cannot write {args.csv}: {exc.strerror or exc}") from exc
        counts = {"traces": len(frame), "evals": [c["label"] for c in cols], **matrix.cell_counts(frame, cols)}
        text = (
            f"{counts['traces']} traces x {len(cols)} evals: {counts['contradiction']} contradictions,"
            f" {counts['agree']} agreements, {counts['error']} errors, {counts['unrated']} unrated"
            + (f"; written to {args.csv}" if args.csv else "")
        )
        out = {"eval_set": eval_set["name"], **counts, "csv": args.csv}
        if args.push_langfuse:
            try:
                summary = matrix.push_to_langfuse(access, eval_set["id"], eval_set["name"], cols)
            except LangfuseError as exc:
                print(f"forge: {exc}", file=sys.stderr)
                return 1
            out["langfuse"] = summary.to_json()
            text += f"\nLangfuse: pushed {summary.pushed}, skipped {summary.skipped}, failed {summary.failed}"
            for error in summary.errors[:5]:
                text += f"\n  error: {error}"
    finally:
        db.close()
    emit(out, args.json, text)
    return 1 if args.push_langfuse and out["langfuse"]["failed"] else 0


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
        "import",
        parents=[common, ws, js],
        help="import traces from files",
        description="Import traces from JSONL/JSON/CSV files, Langfuse trace JSON or OpenAI chat logs.\n"
        "Example: forge import data/demo_traces.jsonl --eval-set 'Grounded answers'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("files", nargs="+", metavar="FILE")
    s.add_argument(
        "--eval-set",
        metavar="NAME",
        help="put each row's `rating` (pass/fail/neutral, up/down, 1/0, true/false; note from `rating_note`"
        " or `note`) into this eval set, created if missing; without it ratings are not stored and the"
        " summary counts them as skipped (re-import with --eval-set: traces update, never duplicate)",
    )
    s.add_argument(
        "--criterion",
        metavar="TEXT",
        help="what the eval set checks, e.g. 'answers only from the retrieved documents'"
        " (used when --eval-set creates the set)",
    )
    s.set_defaults(handler=lambda a: cmd_import(a))

    s = sub.add_parser(
        "import-langfuse",
        parents=[common, ws, js],
        help="import traces from Langfuse",
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
        "run",
        parents=[common, ws, js],
        help="run one prompt across several models",
        description="Send one prompt to several models at once and compare.\n"
        "Example: forge run --model offline/echo --model openai/gpt-4o-mini"
        " --prompt 'Summarise {{text}}' --var text=hello",
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
        "run",
        parents=[common, ws, js],
        help="run evals in the sandbox",
        description="Run an eval file over a trace file (no database),"
        " or the eval set's current evals over its traces.\n"
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
        "synth",
        parents=[common, ws, js],
        help="synthesise an eval from labelled traces (no LLM)",
        description="Example: forge eval synth --traces labelled.jsonl --out eval.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--traces", metavar="LABELLED_FILE")
    s.add_argument("--out", metavar="EVAL.py")
    s.add_argument("--eval-set", metavar="NAME")
    s.set_defaults(handler=lambda a: cmd_eval_synth(a))
    s = evsub.add_parser(
        "generate",
        parents=[common, ws, js],
        help="have an LLM write evals from the set's ratings",
        description="Example: forge eval generate --eval-set 'Grounded answers' --model openai/gpt-4o-mini",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--eval-set", required=True, metavar="NAME")
    s.add_argument("--model", metavar="M")
    s.set_defaults(handler=lambda a: cmd_eval_generate(a))

    s = sub.add_parser(
        "matrix",
        parents=[common, ws, js],
        help="traces x evals agreement matrix",
        description="Example: forge matrix --eval-set 'Grounded answers' --csv matrix.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--eval-set", required=True, metavar="NAME")
    s.add_argument("--csv", metavar="OUT")
    s.add_argument("--push-langfuse", action="store_true", help="push labels and verdicts to Langfuse as scores")
    s.set_defaults(handler=lambda a: cmd_matrix(a))

    us = sub.add_parser("users", help="manage users")
    ussub = us.add_subparsers(dest="users_command", metavar="SUBCOMMAND", required=True)
    s = ussub.add_parser(
        "add",
        parents=[common, js],
        help="add a user (password on stdin)",
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
    except DatabaseBusy as exc:
        print(f"forge: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("forge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
