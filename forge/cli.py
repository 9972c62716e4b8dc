"""The `forge` command (also `python -m forge`). Thin: parse, log in, call forge, print.

Exit codes: 0 success, 1 the work ran but failed, 2 bad input (one-line reason on stderr),
3 an eval run's CI gate (--min-pass-rate, --max-contradictions) was not met.
Where users exist every command that touches the database needs a login:
FORGE_USER and FORGE_PASSWORD (or --user and an interactive password prompt).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from forge import auth, config
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


# Set by the server (forge.api) while it runs a command for an API token's user: no password then.
acting_user: ContextVar[auth.User | None] = ContextVar("forge_acting_user", default=None)


def login(db: Database, args: argparse.Namespace) -> auth.User:
    """The acting user from --user/FORGE_USER and FORGE_PASSWORD (or a prompt), or the API token's user."""
    token_user = acting_user.get()
    if token_user is not None:
        return token_user
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


def cmd_token(args: argparse.Namespace) -> int:
    """forge token create NAME | list | revoke NAME: API tokens of the logged-in user."""
    from forge import tokens

    db = open_db()
    try:
        actor = login(db, args)
        try:
            if args.token_command == "create":
                token, row = tokens.create_token(db, actor, args.name, args.expires_days)
                emit({**row, "token": token}, args.json, token)
                return 0
            live = tokens.list_tokens(db, actor)
            if args.token_command == "list":
                if args.json:
                    for t in live:
                        emit(t, True)
                else:
                    for t in live:
                        used = f"{t['last_used_at']:%Y-%m-%d %H:%M}" if t["last_used_at"] else "never"
                        ends = f"{t['expires_at']:%Y-%m-%d %H:%M}" if t["expires_at"] else "never"
                        ends += " (expired)" if t["expired"] else ""
                        print(
                            f"{t['name']}\tcreated {t['created_at']:%Y-%m-%d %H:%M} UTC\tlast used {used}"
                            f"\texpires {ends}"
                        )
                return 0
            found = [t for t in live if t["name"] == args.name or t["id"] == args.name]
            if not found:
                raise UsageError(f"no token of yours called '{args.name}'")
            tokens.revoke_token(db, actor, found[0]["id"])
            emit({"revoked": found[0]["name"]}, args.json, f"revoked token '{found[0]['name']}'")
            return 0
        except auth.AuthError as exc:
            raise UsageError(str(exc)) from exc
    finally:
        db.close()


def _import_text(summary: ImportSummary) -> str:
    lines = [
        f"imported {summary['imported']}, updated {summary['updated']}, skipped {summary['skipped']},"
        f" failed {summary['failed']}"
    ]
    r = summary.get("ratings") or {}
    if r.get("eval_set") and (r.get("stored") or r.get("skipped")):
        lines.append(f"ratings: {r.get('stored', 0)} stored in '{r.get('eval_set')}', {r.get('skipped', 0)} skipped")
    elif r.get("skipped"):  # the rows carry labels but no eval set was named (the warning says how)
        lines.append(f"ratings: {r['skipped']} not stored (no --eval-set given)")
    for kind in ("errors", "warnings"):
        for e in summary.get(kind) or []:
            where = ":".join(str(x) for x in (e.get("file"), e.get("line")) if x not in (None, ""))
            field = f" [{e['field']}]" if e.get("field") else ""
            lines.append(f"  {kind[:-1]}: {where}{field} {e['message']}")
    return "\n".join(lines)


def _stderr_progress():
    """A progress callback that rewrites one line on stderr (a terminal), at most ~4 times a second."""
    import time

    last = [0.0]

    def show(done: int, total: int | None, message: str | None) -> None:
        now = time.monotonic()
        if now - last[0] < 0.25 and not (total and done >= total):
            return
        last[0] = now
        pct = f"{100 * done / total:3.0f}% " if total else ""
        print(f"\r\033[K{pct}{message or ''}"[:200], end="", file=sys.stderr, flush=True)

    return show


IMPORT_CHECKPOINT_MB = 192  # DuckDB's memory for the checkpoint ending `forge import` (see Database.checkpoint)


def import_process(db: Database) -> None:
    """Settings for a process that imports and ends (``forge import``, not the server: they hold process-wide)."""
    # Batches of 2,000 rows gain nothing from a second DuckDB thread, whose allocator caches
    # cost ~50 MB by the end of a 1,000,000-row file (peak 386 -> 323 MB, CPU time the same).
    db.use_threads(1)


def cmd_import(args: argparse.Namespace) -> int:
    """forge import FILE... [--eval-set NAME]: JSONL/JSON/CSV, Langfuse JSON, OpenAI chat logs."""
    from forge.traces.files import import_files

    db = open_db()
    try:
        if acting_user.get() is None:
            import_process(db)
        actor = login(db, args)
        access = workspace_for(db, actor, args, "import")
        try:
            from forge.demo import criterion_for

            # A criterion describes the eval set when this import creates it; an existing one keeps its own.
            criterion = args.criterion or criterion_for(args.files, args.eval_set)
            progress = _stderr_progress() if sys.stderr.isatty() else None
            try:
                summary = import_files(
                    access, args.files, eval_set=args.eval_set, criterion=criterion, progress=progress
                )
            finally:
                if progress:
                    print("\r\033[K", end="", file=sys.stderr, flush=True)  # the progress line goes away
        except (auth.PermissionDenied, ValueError) as exc:
            raise UsageError(str(exc)) from exc
    finally:
        if acting_user.get() is None:  # a process of its own, about to end (not the server: the cap is per process)
            # Uncapped, this checkpoint took a 1,000,000-row import from ~370 to ~800 MB.
            db.checkpoint(IMPORT_CHECKPOINT_MB)
        db.close()
    emit(summary.to_json(), args.json, _import_text(summary))
    if summary.nothing_valid:
        first = (summary["errors"] or [{"message": "no rows"}])[0]
        where = ":".join(str(x) for x in (first.get("file"), first.get("line")) if x not in (None, ""))
        raise UsageError(f"nothing valid was found: {where} {first['message']}".replace("  ", " "))
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
        except langfuse.ImportInterrupted as exc:  # stopped part way: what was stored is summed up, exit 1
            emit(exc.summary.to_json(), args.json, _import_text(exc.summary))
            print(f"forge: {exc}", file=sys.stderr)
            return 1
        except langfuse.LangfuseError as exc:
            print(f"forge: {config.redact(str(exc))}", file=sys.stderr)  # LANGFUSE_HOST may carry user:password
            return 1
    finally:
        db.close()
    emit(summary.to_json(), args.json, _import_text(summary))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """forge run --model M [--model M ...] --prompt TEXT [--context FILE ...] [--var k=v ...] [--json].

    Exit 0 when at least one model answered, 1 when every model failed, 2 for bad input.
    """
    import math

    from forge.llm.playground import run_prompt
    from forge.llm.prompts import PromptError, PromptSpec, context_from_file, parse_vars
    from forge.llm.retry import RetryPolicy
    from forge.llm.runner import run_input_problems

    models = [m.strip() for m in args.model or [] if m and m.strip()]
    problems = run_input_problems(models, args.temperature, args.max_tokens)
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        problems.append("--timeout must be a positive number of seconds")
    if problems:
        raise UsageError("; ".join(problems))
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
    if not any(r.ok for r in out.results):
        n = len(out.results)
        print(f"forge: {'the model' if n == 1 else f'all {n} models'} failed (runs kept)", file=sys.stderr)
        return 1
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


# ---------------------------------------------------------------- run a saved prompt over a dataset


def cmd_run_any(args: argparse.Namespace) -> int:
    """forge run: one prompt across models (--prompt), or a saved prompt over a dataset (--prompt-name)."""
    if args.prompt_name or args.dataset:
        if args.prompt is not None:
            raise UsageError("give --prompt TEXT, or --prompt-name NAME with --dataset, not both")
        if not (args.prompt_name and args.dataset):
            raise UsageError("--prompt-name and --dataset go together: a saved prompt over a dataset's rows")
        return cmd_run_dataset(args)
    for flag in ("version", "eval_set", "max_cost", "concurrency"):
        if getattr(args, flag, None) is not None:
            raise UsageError(f"--{flag.replace('_', '-')} needs --prompt-name NAME --dataset NAME|FILE")
    if args.prompt is None:
        raise UsageError("give --prompt TEXT (or --prompt-name NAME --dataset NAME|FILE)")
    return cmd_run(args)


def _dataset_for_run(access: auth.Access, args: argparse.Namespace):
    """--dataset: a file (CSV/JSONL; bad rows named on stderr, the valid ones run) or a dataset's name."""
    from forge.library import datasets

    value = args.dataset
    if not getattr(args, "dataset_is_name", False) and Path(value).is_file():
        try:
            parsed = datasets.parse_file(value)
        except datasets.DatasetError as exc:
            raise UsageError(str(exc)) from exc
        for error in parsed.errors:
            print(f"forge: {value}: {error}", file=sys.stderr)
        if not parsed.rows:
            raise UsageError(f"{value}: no valid row")
        return datasets.DatasetVersion(
            "", "", Path(value).name, 0, parsed.columns, parsed.rows, "file", None, access.user.username, None
        )
    try:
        return datasets.open_dataset(access, value)
    except LookupError as exc:
        raise UsageError(f"{exc}; or give a CSV/JSONL file") from exc


def cmd_run_dataset(args: argparse.Namespace) -> int:
    """forge run --prompt-name NAME [--version N] --dataset NAME|FILE --model M ... [--eval-set NAME] [--max-cost]."""
    from forge import batch
    from forge.evals import runs
    from forge.evals.setrun import SetRunError, find_eval_set
    from forge.library import prompts
    from forge.llm.retry import RetryPolicy

    models = [m.strip() for m in args.model or [] if m and m.strip()]
    if not models:
        raise UsageError("no models: give at least one --model provider/model (e.g. offline/echo)")
    if args.max_cost is not None and args.max_cost < 0:
        raise UsageError("--max-cost must be zero or more dollars")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError("--concurrency must be 1 or more")
    db = open_db()
    try:
        access = workspace_for(db, login(db, args), args, "run")
        try:
            access.need("import")  # every output is kept as a trace
            prompt = prompts.get_version(access, args.prompt_name, args.version)
            dataset = _dataset_for_run(access, args)
            eval_set = find_eval_set(access, args.eval_set) if args.eval_set else None
            if eval_set and not runs.runnable_evals(access, eval_set["id"]):
                raise SetRunError(f"eval set '{args.eval_set}' has no kept evals to judge with")
            plan = batch.plan_batch(access, prompt, dataset, models)
        except (LookupError, SetRunError, batch.BatchError, auth.PermissionDenied) as exc:
            raise UsageError(str(exc)) from exc
        for problem in plan.problems:
            print(f"forge: {problem}", file=sys.stderr)
        out = batch.run_batch(
            access,
            plan,
            max_cost_usd=args.max_cost,
            concurrency=args.concurrency,
            policy=RetryPolicy.from_settings(timeout=args.timeout),
        )
        if out.stop_reason:
            print(f"forge: {out.stop_reason}", file=sys.stderr)
        judge = None
        if eval_set and any(r.ok for _, r in out.results):
            judge = batch.judge_batch(access, out.batch_id, eval_set["id"])
            if judge.isolation != "full":
                print(f"forge: reduced isolation (missing: {'; '.join(judge.missing)})", file=sys.stderr)
        judged = batch.judged(access, out.batch_id)
    finally:
        db.close()
    _print_batch(args, plan.models, judged)
    return 1 if not out.results or all(not r.ok for _, r in out.results) else 0


def _print_batch(args: argparse.Namespace, models: list[str], judged) -> None:
    """One object per row and model, then a summary per model (--json); else a short table."""
    from forge.batch import ALL_EVALS

    grid = judged.grid
    order = {m: i for i, m in enumerate(models)}
    rows = sorted(grid.to_dict("records"), key=lambda r: (r["row"], order.get(r["model"], 0))) if len(grid) else []

    def clean(value):
        return None if value is None or value != value else value  # NaN from pandas -> null

    if args.json:
        for r in rows:
            emit(
                {
                    "row": r["row"],
                    "model": r["model"],
                    "output": r["output"] if not r["error"] else None,
                    "input_tokens": clean(r["input_tokens"]),
                    "output_tokens": clean(r["output_tokens"]),
                    "latency_ms": clean(r["latency_ms"]),
                    "cost_usd": clean(r["cost_usd"]),
                    "error": r["error"] or None,
                    "verdicts": {label: clean(r.get(label)) for label in judged.evals},
                },
                True,
            )
    for fig in judged.model_figures:
        rates = {}
        for label in judged.evals + ([ALL_EVALS] if judged.evals else []):
            rate = judged.rates.get((fig.model, label))
            rates[label] = None if rate is None or rate.value is None else round(rate.value, 4)
        line = {"summary": True, **fig.to_json(), "pass_rates": rates}
        text = (
            f"{fig.model}: {fig.rows} rows, {fig.failed} failed, cost "
            + ("unknown" if fig.cost_usd is None else f"${fig.cost_usd:.6f}")
            + f", latency p50 {'-' if fig.latency_ms_p50 is None else f'{fig.latency_ms_p50:.0f} ms'}"
            + "".join(f", {k} {'-' if v is None else f'{v:.0%}'}" for k, v in rates.items())
        )
        emit(line, args.json, text)


def cmd_eval_run(args: argparse.Namespace) -> int:
    """forge eval run EVAL.py --traces FILE (a file, no database), or --eval-set NAME (results kept)."""
    from forge.evals.gate import Gate, GateError

    try:
        gate = Gate(min_pass_rate=args.min_pass_rate, max_contradictions=args.max_contradictions)
    except GateError as exc:
        raise UsageError(str(exc)) from exc
    if args.eval_file and args.traces:
        from forge.evals.filerun import run_eval_file

        return run_eval_file(args.eval_file, args.traces, as_json=args.json, timeout_s=args.timeout, gate=gate)
    if args.eval_file or args.traces or not args.eval_set:
        raise UsageError("forge eval run needs EVAL.py --traces FILE, or --eval-set NAME")
    from forge.evals.runs import RunError
    from forge.evals.setrun import SetRunError, run_eval_set

    db = open_db()
    try:
        access = workspace_for(db, login(db, args), args, "run")
        try:
            return run_eval_set(
                access,
                args.eval_set,
                as_json=args.json,
                all_traces=args.all_traces,
                timeout_s=args.timeout,
                gate=gate,
            )
        except (SetRunError, RunError, auth.PermissionDenied) as exc:
            raise UsageError(str(exc)) from exc
    finally:
        db.close()


def _authoring_text(summary: dict) -> str:
    """The summary of a generation or synthesis as lines: the set's figures, then one line per candidate."""

    def fig(figs: dict | None, name: str) -> str:
        if not figs or figs.get(name) is None:
            return "n/a"
        low_high = figs.get(name + "_interval")
        return f"{figs[name]:.2f}" + (f" [{low_high[0]:.2f}-{low_high[1]:.2f}]" if low_high else "")

    s = summary.get("set_metrics")
    lines = [
        f"{summary['eval_set']}: {summary['ratings']} ratings ({summary['passes']} pass, {summary['fails']} fail);"
        f" {summary.get('method', '')}",
        f"chosen set ({', '.join(summary.get('chosen') or []) or 'none'}): accuracy {fig(s, 'accuracy')},"
        f" kappa {fig(s, 'kappa')}, F1 {fig(s, 'f1')}, coverage {fig(s, 'coverage')},"
        f" false failures {fig(s, 'false_failure_rate')}",
        f"floor (majority class): accuracy {fig(summary.get('baseline'), 'accuracy')};"
        f" ceiling (humans): {summary['ceiling']['text']}",
    ]
    for c in summary.get("candidates") or []:
        state = "KEPT    " if c["kept"] else "rejected"
        flags = f"  [{'; '.join(c['flags'])}]" if c.get("flags") else ""
        lines.append(f"  {state} {c['name']}: kappa {fig(c.get('metrics'), 'kappa')} - {c['reason']}{flags}")
    for w in summary.get("warnings") or []:
        lines.append(f"  warning: {w}")
    if summary.get("error"):
        lines.append(f"  error: {summary['error']}")
    return "\n".join(lines)


def _authoring_access(args: argparse.Namespace, db: Database, action: str) -> auth.Access:
    actor = login(db, args)
    access = workspace_for(db, actor, args, action)
    try:
        access.need("edit")
    except auth.PermissionDenied as exc:
        raise UsageError(str(exc)) from exc
    return access


def cmd_eval_export(args: argparse.Namespace) -> int:
    """forge eval export --eval-set NAME [--eval NAME] [--out FILE]: kept evals as a pytest file, or one eval."""
    from forge.evals.export import ExportError, export_eval, export_set
    from forge.evals.setrun import SetRunError, find_eval_set

    db = open_db()
    try:
        access = workspace_for(db, login(db, args), args, "read")
        try:
            eval_set = find_eval_set(access, args.eval_set)
            exported = export_eval(access, eval_set, args.eval) if args.eval else export_set(access, eval_set)
        except (SetRunError, ExportError) as exc:
            raise UsageError(str(exc)) from exc
        if not exported.evals:
            raise UsageError(
                f"eval set '{args.eval_set}' has no kept eval yet (synthesise or generate some first,"
                " or name one with --eval)"
            )
    finally:
        db.close()
    if not args.out:
        sys.stdout.write(exported.text)
        return 0
    try:
        Path(args.out).write_text(exported.text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    what = f"eval '{args.eval}'" if args.eval else f"{exported.evals} kept eval(s) of '{args.eval_set}'"
    print(f"wrote {what} to {args.out}", file=sys.stderr)
    return 0


def cmd_eval_synth(args: argparse.Namespace) -> int:
    """forge eval synth --traces FILE --out EVAL.py (no database), or --eval-set NAME (kept as evals)."""
    from forge.evals import authoring

    if args.traces or args.out:
        if not (args.traces and args.out):
            raise UsageError("forge eval synth --traces LABELLED_FILE needs --out EVAL.py (and --out needs --traces)")
        from forge.evals.synthfile import SynthInputError, synth_file

        try:
            summary = synth_file(args.traces, args.out)
        except SynthInputError as exc:
            raise UsageError(str(exc)) from exc
        emit(summary, args.json, f"wrote {summary['out']}" if summary["out"] else "; ".join(summary["warnings"]))
        return 0 if summary["out"] else 1
    if not args.eval_set:
        raise UsageError("forge eval synth needs --eval-set NAME, or --traces LABELLED_FILE --out EVAL.py")
    db = open_db()
    try:
        access = _authoring_access(args, db, "edit")
        try:
            es = authoring.find_eval_set(access, args.eval_set)
            summary = authoring.synthesise_set(access, es["id"])
        except authoring.AuthoringError as exc:
            raise UsageError(str(exc)) from exc
    finally:
        db.close()
    emit(summary, args.json, _authoring_text(summary))
    return 0


def cmd_eval_generate(args: argparse.Namespace) -> int:
    """forge eval generate --eval-set NAME [--model M]: an LLM writes evals; kept ones stored."""
    from forge.evals import authoring

    model = args.model or authoring.default_model()
    if not model:
        raise UsageError(authoring.how_to_configure())
    db = open_db()
    try:
        access = _authoring_access(args, db, "run")
        try:
            es = authoring.find_eval_set(access, args.eval_set)
            summary = authoring.generate_set(access, es["id"], model)
        except authoring.AuthoringError as exc:
            raise UsageError(str(exc)) from exc
    finally:
        db.close()
    emit(summary, args.json, _authoring_text(summary))
    if summary.get("all_calls_failed"):
        print(f"forge: every call to {model} failed: {summary.get('error')}", file=sys.stderr)
        return 1
    return 0


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


def cmd_ratings_export(args: argparse.Namespace) -> int:
    """forge ratings export --eval-set NAME [--csv OUT | --json]: every rating with the resolved label."""
    from forge.review import eval_sets

    db = open_db()
    try:
        access = workspace_for(db, login(db, args), args)
        try:
            rows = eval_sets.export_rows(access, eval_sets.by_name(access, args.eval_set)["id"])
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    finally:
        db.close()
    if args.json:
        for row in rows:
            emit(row, True)
    elif args.csv:
        with open(args.csv, "w", encoding="utf-8", newline="") as out:
            out.write(eval_sets.export_csv(rows))
        print(f"{len(rows)} ratings written to {args.csv}", file=sys.stderr)
    else:
        sys.stdout.write(eval_sets.export_csv(rows))
    return 0


# ---------------------------------------------------------------- parser


def _add_dataset_run_args(s: argparse.ArgumentParser) -> None:
    """`forge run --prompt-name NAME --dataset NAME|FILE ...`: a saved prompt over a dataset's rows."""
    s.add_argument("--prompt-name", metavar="NAME", help="a saved prompt (instead of --prompt), run over --dataset")
    s.add_argument("--version", type=int, metavar="N", help="the prompt's version (default: its latest)")
    s.add_argument("--dataset", metavar="NAME|FILE", help="a dataset's name, or a CSV/JSONL file of variable rows")
    s.add_argument("--eval-set", metavar="NAME", help="judge the outputs with this eval set's kept evals")
    s.add_argument("--max-cost", type=float, metavar="USD", help="spend limit: no call starts that could pass it")
    s.add_argument("--concurrency", type=int, metavar="N", help="calls at once (default FORGE_BATCH_CONCURRENCY or 16)")


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
        description="Send one prompt to several models at once and compare, or run a saved prompt over a\n"
        "dataset's rows on several models (optionally judged by an eval set's kept evals).\n"
        "Example: forge run --model offline/echo --model openai/gpt-4o-mini"
        " --prompt 'Summarise {{text}}' --var text=hello\n"
        "Example: forge run --prompt-name summarise --dataset questions.csv --model offline/echo"
        " --eval-set 'Grounded answers' --max-cost 0.50 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--model", action="append", required=True, metavar="M", help="provider/model, repeatable")
    s.add_argument("--prompt", metavar="TEXT")
    s.add_argument("--system", metavar="TEXT", help="system prompt")
    s.add_argument("--context", action="append", default=[], metavar="FILE", help="context file, repeatable")
    s.add_argument("--var", action="append", default=[], metavar="k=v", help="template variable, repeatable")
    s.add_argument("--temperature", type=float)
    s.add_argument("--max-tokens", type=int)
    s.add_argument("--timeout", type=float, metavar="S", help="per-request timeout in seconds")
    _add_dataset_run_args(s)
    s.set_defaults(handler=lambda a: cmd_run_any(a))

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
    s.add_argument("--all-traces", action="store_true", help="with --eval-set: every trace of the workspace")
    s.add_argument(
        "--min-pass-rate",
        type=float,
        metavar="PCT",
        help="CI gate: exit 3 when an eval passes fewer than PCT %% of the traces (errors count as not passing)",
    )
    s.add_argument(
        "--max-contradictions",
        type=int,
        metavar="N",
        help="CI gate: exit 3 when an eval contradicts the human labels on more than N rated traces",
    )
    s.set_defaults(handler=lambda a: cmd_eval_run(a))
    s = evsub.add_parser(
        "export",
        parents=[common, ws],
        help="write the set's kept evals as a pytest file, or one eval as a .py file",
        description="Write the eval set's kept evals (current versions) as one pytest file that fails once per\n"
        "contradiction on a rated traces file, or with --eval one eval as a standalone .py file.\n"
        "Examples: forge eval export --eval-set 'Grounded answers' --out tests/test_grounded_answers.py\n"
        "          forge eval export --eval-set 'Grounded answers' --eval cites_sources --out cites_sources.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--eval-set", metavar="NAME", required=True)
    s.add_argument("--eval", metavar="NAME", help="one eval of the set (its current version), not the whole set")
    s.add_argument("--out", metavar="OUT", help="the file to write (default: standard output)")
    s.set_defaults(handler=lambda a: cmd_eval_export(a))
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

    tk = sub.add_parser("token", help="API tokens for the JSON API and FORGE_TOKEN")
    tksub = tk.add_subparsers(dest="token_command", metavar="SUBCOMMAND", required=True)
    s = tksub.add_parser(
        "create",
        parents=[common, js],
        help="make an API token for you (printed once)",
        description="Make an API token for the logged-in user; it is printed once, Forge keeps only a hash.\n"
        "Example: export FORGE_TOKEN=$(forge token create CI)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("name", metavar="NAME")
    s.add_argument("--expires-days", type=int, metavar="N", help="refuse the token N days from now (default: never)")
    s.set_defaults(handler=lambda a: cmd_token(a))
    s = tksub.add_parser("list", parents=[common, js], help="your live tokens (never the tokens themselves)")
    s.set_defaults(handler=lambda a: cmd_token(a))
    s = tksub.add_parser("revoke", parents=[common, js], help="revoke one of your tokens by name")
    s.add_argument("name", metavar="NAME")
    s.set_defaults(handler=lambda a: cmd_token(a))

    rt = sub.add_parser("ratings", help="export an eval set's ratings")
    rtsub = rt.add_subparsers(dest="ratings_command", metavar="SUBCOMMAND", required=True)
    s = rtsub.add_parser(
        "export",
        parents=[common, ws],
        help="every rating of an eval set with its resolved label",
        description="Columns: trace_id, rater, value, note, criterion_version, resolved_label (the resolution,"
        " else the majority; empty for ties).\n"
        "Example: forge ratings export --eval-set 'Grounded answers' --csv ratings.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--eval-set", required=True, metavar="NAME")
    out = s.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="OUT", help="write CSV to this file (default: CSV on stdout)")
    out.add_argument("--json", action="store_true", help="print one JSON object per rating")
    s.set_defaults(handler=cmd_ratings_export)

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
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    from forge import remote

    # With FORGE_URL, or a server running on the database, the command runs there (same output, same exit code).
    server = remote.server_for(args)
    if server is not None:
        return remote.send(server, argv, args)
    return run_parsed(args)


def run_parsed(args: argparse.Namespace) -> int:
    """Run one parsed command here; UsageError -> 2, DatabaseBusy -> 1."""
    try:
        return int(args.handler(args) or 0)
    except UsageError as exc:
        print(f"forge: {config.redact(str(exc))}", file=sys.stderr)
        return 2
    except DatabaseBusy as exc:
        print(f"forge: {config.redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("forge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
