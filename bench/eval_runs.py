"""Stored eval runs benchmark: 10 evals x 100,000 traces from the database through the job path.

Builds a fresh database (100,000 traces with ~2 KB outputs, one eval set, 10 evals), then
starts the eval-run job over all traces of the workspace and waits for it: prints the
wall time, calls/s, the share of it spent reading traces and storing results, and the
peak memory of the process (traces are streamed a page at a time, never all at once).

    .venv/bin/python -m bench.eval_runs [--traces N] [--evals K] [--page-size P]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class _RssWatch:
    """The highest resident memory of this process while a block runs (sampled every 0.2 s)."""

    def __enter__(self) -> _RssWatch:
        self.before = self.peak = _current_rss_mb()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def _watch(self) -> None:
        while not self.stop.wait(0.2):
            self.peak = max(self.peak, _current_rss_mb())

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--evals", type=int, default=10)
    parser.add_argument("--page-size", type=int, default=None)
    args = parser.parse_args(argv or [])  # `make bench` calls main() with its own argv

    from bench.evals import REALISTIC_EVAL, make_traces
    from forge import auth, eval_jobs, jobs
    from forge.evals import runs
    from forge.evals.sandbox import close_idle_workers, isolation_status, run_evals
    from forge.store import connect
    from forge.store import eval_results as result_store
    from forge.store import evals as eval_store
    from forge.store import ratings as rating_store
    from forge.store.traces import upsert_batches

    level, missing = isolation_status()
    print(f"isolation: {level}" + (f" (missing: {'; '.join(missing)})" if missing else ""))
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(Path(tmp) / "bench.duckdb")
        admin = auth.create_first_admin(db, "admin", "correct horse battery staple", "Bench")
        ws = auth.resolve_workspace(db, admin)
        access = auth.access(db, admin, ws.id, "edit")
        t0 = time.perf_counter()
        batch = 10_000
        for start in range(0, args.traces, batch):
            rows = make_traces(min(batch, args.traces - start), seed=start)
            for i, r in enumerate(rows):
                r["source_id"] = f"b{start + i:07d}"
                r["input"], r["output"] = r["input_text"], r["output_text"]
                del r["id"]
            upsert_batches(access, [rows])
        print(f"stored {args.traces:,} traces in {time.perf_counter() - t0:.1f} s; peak RSS {_rss_mb():,.0f} MB")
        es = rating_store.get_or_create_eval_set(access, "Bench", "answers cite a source")
        eval_ids = [
            eval_store.create_eval(
                access, es["id"], f"eval{i}", REALISTIC_EVAL.replace("< 200", f"< {200 + i}"), origin="manual"
            ).id
            for i in range(args.evals)
        ]
        t0 = time.perf_counter()
        n_read = sum(
            len(p) for p in result_store.iter_scope_traces(access, es["id"], "workspace", runs.PAGE_SIZE, True)
        )
        read_s = time.perf_counter() - t0
        print(f"reading the traces alone (pages of {runs.PAGE_SIZE:,}): {read_s:.1f} s for {n_read:,}")

        close_idle_workers()
        with _RssWatch() as memory:
            t0 = time.perf_counter()
            job = eval_jobs.start_eval_run(
                db, admin, ws.id, es["id"], eval_ids, scope="workspace", page_size=args.page_size, label="bench"
            )
            done = jobs.wait(db, admin, ws.id, job.id, timeout=3600)
            wall = time.perf_counter() - t0
        assert done.status == "done", done.error
        calls = args.traces * args.evals
        run = result_store.get_run(access, done.result["run_id"])
        counts = result_store.run_counts(access, run.id)
        errors = sum(c["errors"] for c in counts.values())
        stored = db.scalar("SELECT count(*) FROM eval_results WHERE eval_run_id = ?", [run.id])
        print(
            f"{args.evals} evals x {args.traces:,} traces from the database through the job: wall {wall:.1f} s;"
            f" {calls / wall:,.0f} calls/s; {stored:,} results stored; errors {errors};"
            f" isolation {run.isolation}; resident memory {memory.before:,.0f} MB before, at most"
            f" {memory.peak:,.0f} MB during the run"
        )
        # The reference at the same moment (the machine is shared): the same calls with every trace
        # already in memory, straight through run_evals (no database read, nothing stored).
        traces = [
            runs._for_sandbox(t)
            for page in result_store.iter_scope_traces(access, es["id"], "workspace", runs.PAGE_SIZE, True)
            for t in page
        ]
        sources = {e.version_id: e.source for e in result_store.current_evals(access, es["id"])}
        close_idle_workers()
        t0 = time.perf_counter()
        run_evals(sources, traces)
        reference = calls / (time.perf_counter() - t0)
        print(
            f"reference, traces already in memory, nothing stored: {reference:,.0f} calls/s;"
            f" the stored job path runs at {calls / wall / reference:.2f} of it"
        )
        close_idle_workers()
        db.close()


if __name__ == "__main__":
    main(sys.argv[1:])
