"""Review speed at 100,000 traces: server time from a rating to the next trace ready, per queue order
(target: p95 <= 150 ms), and the agreement panel for 5 raters x 10,000 traces.

"Rating to next trace ready" is what the review page does after a key press: store the rating (retrying
transaction), find the next trace in the queue (with the count left), then read what the page shows for it
(the trace, the rater's own rating, the other ratings, eval verdicts, the progress counts).

    .venv/bin/python -m bench.review [--traces N] [--ratings R]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

TARGET_P95_MS = 150.0


def _pct(times: list[float], q: float) -> float:
    times = sorted(times)
    return times[min(len(times) - 1, round(q * (len(times) - 1)))]


def _seed_ratings(db, workspace_id: str, eval_set_id: str, trace_ids: list[str], raters: list[str], rng) -> None:
    """Ratings of ``raters`` on ``trace_ids`` straight into the table (one bulk insert)."""
    import pyarrow as pa

    rows = [(t, r) for t in trace_ids for r in raters]
    table = pa.table(  # noqa: F841 - read by DuckDB below
        {
            "id": [f"r{i}-{eval_set_id}" for i in range(len(rows))],
            "trace_id": [t for t, _ in rows],
            "rater": [r for _, r in rows],
            "value": [rng.choice(("pass", "pass", "fail", "neutral")) for _ in rows],
        }
    )
    cur = db.cursor().cursor()
    cur.register("seed_ratings", table)
    cur.execute(
        "INSERT INTO ratings (id, workspace_id, eval_set_id, trace_id, rater, value, created_at, updated_at,"
        " criterion_version) SELECT id, ?, ?, trace_id, rater, value, now()::TIMESTAMP, now()::TIMESTAMP, 1"
        " FROM seed_ratings",
        [workspace_id, eval_set_id],
    )
    cur.unregister("seed_ratings")
    cur.close()


def _seed_eval_results(db, workspace_id: str, eval_set_id: str, trace_ids: list[str], rng) -> None:
    """Two current evals with a verdict on every trace (they disagree on about a tenth)."""
    import pyarrow as pa

    for k in range(2):
        db.execute(
            "INSERT INTO evals (id, workspace_id, eval_set_id, name, origin, status, current_version)"
            " VALUES (?, ?, ?, ?, 'manual', 'kept', 1)",
            [f"e{k}", workspace_id, eval_set_id, f"eval{k}"],
        )
        db.execute(
            "INSERT INTO eval_versions (id, eval_id, version, source) VALUES (?, ?, 1, 'def evaluate(t): return 1')",
            [f"v{k}", f"e{k}"],
        )
        verdicts = [rng.random() < (0.9 if k == 0 else 0.8) for _ in trace_ids]
        table = pa.table({"trace_id": trace_ids, "verdict": verdicts})  # noqa: F841 - read by DuckDB
        cur = db.cursor().cursor()
        cur.register("seed_results", table)
        cur.execute(
            "INSERT INTO eval_results (eval_version_id, trace_id, workspace_id, verdict, created_at)"
            " SELECT ?, trace_id, ?, verdict, now()::TIMESTAMP FROM seed_results",
            [f"v{k}", workspace_id],
        )
        cur.unregister("seed_results")
        cur.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.review", description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--ratings", type=int, default=40, help="ratings timed per queue order")
    args = parser.parse_args(argv)

    from bench.traces_query import seed
    from forge import auth
    from forge.review import eval_sets
    from forge.review import session as review
    from forge.store import connect
    from forge.store import evals as eval_store
    from forge.store import ratings as rating_store
    from forge.store import traces as trace_store

    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(Path(tmp) / "bench.duckdb")
        admin = auth.create_first_admin(db, "bench", "bench-password-123")
        access = auth.resolve_access(db, admin, action="edit")
        ws = access.workspace
        t0 = time.perf_counter()
        seed(db, ws.id, args.traces)
        ids = [r[0] for r in db.fetchall("SELECT id FROM traces ORDER BY id")]
        print(f"review: seeded {len(ids):,} traces in {time.perf_counter() - t0:.1f} s")
        # Shared machines make absolute times swing: the load average says how busy this one was.
        print(f"review: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        def next_ready(s, es) -> None:
            """What the page reads for the trace now shown."""
            if s.current:
                trace_store.get_trace(access, s.current)
                rating_store.my_rating(access, es["id"], s.current)
                rating_store.set_ratings_for_trace(access, es["id"], s.current)
                eval_store.verdicts_for_trace(access, s.current)
            review.progress(access, s, es)

        results = {}
        cases = [
            ("newest", "newest", False),
            ("oldest", "oldest", False),
            ("random", "random", False),
            ("informative (no evals yet: coverage)", "informative", False),
            ("informative (2 evals x 100k verdicts)", "informative", True),
        ]
        for n, (label, order, with_evals) in enumerate(cases):
            es = eval_sets.create(access, f"bench-{n}", "criterion")
            # Other raters already rated 10,000 traces of the set (they leave the queue with k = 1).
            _seed_ratings(db, ws.id, es["id"], rng.sample(ids, 10_000), ["ann"], rng)
            if with_evals:
                _seed_eval_results(db, ws.id, es["id"], ids, rng)
            s = review.start(access, es["id"], order, seed=5)
            next_ready(s, es)
            times, cpu = [], []
            for _ in range(args.ratings):
                t0, c0 = time.perf_counter(), time.process_time()
                review.rate(access, s, rng.choice(("pass", "fail")), None)
                next_ready(s, es)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            med, p95 = statistics.median(times), _pct(times, 0.95)
            results[label] = (med, p95)
            print(
                f"review: rating -> next trace ready, {label:40s} median {med:6.1f} ms  p95 {p95:6.1f} ms"
                f"  ({args.ratings} ratings, {s.left:,} left)  ratio to target {p95 / TARGET_P95_MS:.2f}"
                # CPU time (all of DuckDB's threads) does not grow with other processes' load as wall time does.
                f"  cpu median {statistics.median(cpu):.1f} ms p95 {_pct(cpu, 0.95):.1f} ms"
            )
            if with_evals:
                db.execute("DELETE FROM eval_results")
                db.execute("DELETE FROM eval_versions")
                db.execute("DELETE FROM evals")

        es = eval_sets.create(access, "bench-agreement", "criterion", raters_per_trace=5)
        _seed_ratings(db, ws.id, es["id"], ids[:10_000], ["ann", "bob", "cid", "dan", "eve"], rng)
        es = rating_store.get_eval_set(access, es["id"])
        eval_sets.agreement_panel(access, es)  # warm-up
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            panel = eval_sets.agreement_panel(access, es)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"review: agreement panel, 5 raters x 10,000 traces: median {statistics.median(times):.0f} ms,"
            f" max {max(times):.0f} ms  (kappa pairs {len(panel.report.pairs)}, fleiss {panel.report.fleiss_kappa:.3f},"
            f" {len(panel.report.disagreements):,} disagreements)"
        )
        db.close()
    print(f"review: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end")
    worst = max(p95 for _, p95 in results.values())
    print(
        f"review: worst p95 rating -> next trace {worst:.1f} ms, target {TARGET_P95_MS:.0f} ms,"
        f" ratio {worst / TARGET_P95_MS:.2f} -> {'OK' if worst <= TARGET_P95_MS else 'SLOWER THAN TARGET'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
