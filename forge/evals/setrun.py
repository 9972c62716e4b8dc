"""`forge eval run --eval-set NAME [--all-traces] [--json]`: the set's current evals over its traces, results kept."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from forge.evals import runs
from forge.evals.contract import DEFAULT_TIMEOUT_S, Verdict
from forge.evals.gate import GATE_NOT_MET, Gate
from forge.review.labels import human_labels
from forge.store import eval_results as result_store
from forge.store import ratings as rating_store
from forge.store.access import Access


class SetRunError(ValueError):
    """Bad input (unknown eval set, nothing to run): one line on stderr, exit code 2."""


def find_eval_set(access: Access, name: str) -> dict:
    """The eval set called ``name`` in the workspace, else SetRunError naming the ones there are."""
    sets = rating_store.list_eval_sets(access)
    for s in sets:
        if s["name"] == name:
            return s
    known = ", ".join(f"'{s['name']}'" for s in sets[:10]) or "none yet"
    raise SetRunError(f"no eval set named '{name}' in workspace '{access.workspace.name}' (eval sets: {known})")


def run_eval_set(
    access: Access,
    name: str,
    *,
    as_json: bool = False,
    all_traces: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    out: TextIO | None = None,
    err: TextIO | None = None,
    gate: Gate | None = None,
) -> int:
    """Run the set's current evals, keep the results, print verdicts and a summary; the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    eval_set = find_eval_set(access, name)
    if not timeout_s or timeout_s <= 0:
        raise SetRunError("--timeout must be a positive number of seconds")
    scope = "workspace" if all_traces else "set"

    def print_page(evals: list[result_store.CurrentEval], page: list[dict], verdicts: dict[str, list[Verdict]]) -> None:
        if not as_json:
            return
        lines = []
        for e in evals:
            for trace, v in zip(page, verdicts[e.version_id], strict=True):
                row = {"eval": e.name, "version": e.version, **v.to_json(str(trace["id"]))}
                lines.append(json.dumps(row, ensure_ascii=False))
        out.write("\n".join(lines) + "\n")

    try:
        stored = runs.run_stored(access, eval_set["id"], scope=scope, timeout_s=timeout_s, on_results=print_page)
    except runs.RunError as exc:
        raise SetRunError(f"eval set '{name}': {exc}") from None
    if stored.isolation != "full":
        print(f"forge: reduced isolation (missing: {'; '.join(stored.missing)})", file=err)
    labels = human_labels(access, eval_set["id"]).labels
    summaries = runs.summarize(access, stored.run_id, labels)
    run_line = {
        "run_id": stored.run_id,
        "eval_set": name,
        "scope": scope,
        "traces": stored.traces,
        "evals": stored.evals,
        "isolation": stored.isolation,
        "status": stored.status,
        "seconds": round(stored.seconds, 3),
    }
    if as_json:
        for s in summaries:
            print(json.dumps({"summary": "eval", **s.to_json()}, ensure_ascii=False), file=out)
        print(json.dumps({"summary": "run", **run_line}, ensure_ascii=False), file=out)
    else:
        print(
            f"ran {stored.evals} eval(s) over {stored.traces:,} trace(s) of '{name}' in {stored.seconds:.1f} s"
            f" ({stored.isolation} isolation); results kept (run {stored.run_id})",
            file=out,
        )
        for s in summaries:
            j = s.to_json()
            acc = "-" if j["accuracy"] is None else f"{j['accuracy']:.1%}"
            kappa = "-" if j["kappa"] is None else f"{j['kappa']:.3f}"
            print(
                f"  {s.name} v{s.version}: pass {s.passed:,} fail {s.failed:,} errors {s.errors:,};"
                f" agreement with ratings n={j['n']} accuracy={acc} kappa={kappa}"
                f" contradictions={j['contradictions']}",
                file=out,
            )
    out.flush()
    if stored.status != "done":
        return 1
    misses = [] if gate is None else [miss for s in summaries for miss in _gate_misses(gate, s)]
    for miss in misses:
        print(f"forge: gate not met: {miss}", file=err)
    return GATE_NOT_MET if misses else 0


def _gate_misses(gate: Gate, summary: runs.EvalRunSummary) -> list[str]:
    """The gates one eval's results do not meet (errors count as not passing)."""
    figures = summary.to_json()
    return gate.misses(
        f"{summary.name} v{summary.version}",
        passed=summary.passed,
        total=summary.passed + summary.failed + summary.errors,
        contradictions=figures["contradictions"],
        rated=figures["n"],
    )
