"""Contradiction matrix at 100,000 and 1,000,000 traces x 10 evals (targets: matrix query <= 1 s,
statistics <= 1 s, one page render's server time <= 300 ms).

Seeds straight into a temporary DuckDB file with SQL (traces with short texts, tags and sources over
26 weeks; 90 % rated by one rater, 10 % by two; 10 eval versions with a result on every trace, 2 % errors),
then times ``forge.matrix.page`` (first page + total, sorted by contradictions; cold = the one pass over
every result a change needs; warm = paging, sorting, filtering over the kept per-trace summary),
``forge.matrix.statistics`` and the view-building of one page (``forge.ui.matrix_view.page_frame``:
pivot, symbols, colours rendered: what the page sends to the browser, the query apart).

    .venv/bin/python -m bench.matrix [--traces N ...] [--evals E] [--runs R]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench import time_ms

TARGETS_MS = {"matrix query": 1000.0, "statistics": 1000.0, "page render": 300.0}


def seed(db, workspace_id: str, eval_set_id: str, version_ids: list[str], n: int) -> None:
    """``n`` traces, their ratings and one result per trace and version, all generated in SQL."""
    cur = db.cursor()
    cur.execute(
        "INSERT INTO traces (id, workspace_id, source, source_id, name, timestamp, input_text, output_text, tags,"
        " imported_at, updated_at)"
        " SELECT 't' || lpad(i::VARCHAR, 8, '0'), ?, CASE WHEN i % 3 = 0 THEN 'file' ELSE 'langfuse' END,"
        " 'src-' || i, 'chat-' || (i % 7), TIMESTAMP '2026-01-05' + to_seconds(i * 15552000 // ?),"
        " 'question about order ' || i || CASE WHEN i % 97 = 0 THEN ' refund' ELSE '' END,"
        " 'answer ' || (i * 7919 % 100000), [CASE WHEN i % 2 = 0 THEN 'prod' ELSE 'staging' END],"
        " now()::TIMESTAMP, now()::TIMESTAMP FROM range(?) r(i)",
        [workspace_id, n, n],
    )
    # A hidden truth per trace; the rater sees it right 92 % of the time, a second rater (10 %) 85 %.
    cur.execute(
        "INSERT INTO ratings (id, workspace_id, eval_set_id, trace_id, rater, value, created_at, updated_at)"
        " SELECT 'r1-' || i, ?, ?, 't' || lpad(i::VARCHAR, 8, '0'), 'ann',"
        " CASE WHEN (hash(i) % 100 < 60) = (hash(i * 3) % 100 < 92) THEN 'pass' ELSE 'fail' END,"
        " now()::TIMESTAMP, now()::TIMESTAMP FROM range(?) r(i) WHERE i % 10 <> 9"
        " UNION ALL"
        " SELECT 'r2-' || i, ?, ?, 't' || lpad(i::VARCHAR, 8, '0'), 'bob',"
        " CASE WHEN (hash(i) % 100 < 60) = (hash(i * 5) % 100 < 85) THEN 'pass' ELSE 'fail' END,"
        " now()::TIMESTAMP, now()::TIMESTAMP FROM range(?) r(i) WHERE i % 10 = 0",
        [workspace_id, eval_set_id, n, workspace_id, eval_set_id, n],
    )
    # Even evals are precise (fail only true fails, catching 30-60 % of them), odd ones noisy (70-88 % right):
    # the minimal set then has something to choose from. Truth: hash(i) % 100 < 60 is a pass.
    for k, vid in enumerate(version_ids):
        verdict = (
            f"NOT (hash(i) % 100 >= 60 AND hash(i * 13 + {k}) % 100 < {30 + 6 * (k // 2)})"
            if k % 2 == 0
            else f"(hash(i) % 100 < 60) = (hash(i * 11 + {k}) % 100 < {70 + 2 * k})"
        )
        cur.execute(
            "INSERT INTO eval_results (eval_version_id, trace_id, workspace_id, verdict, reason, error, duration_ms,"
            " created_at)"
            " SELECT ?, 't' || lpad(i::VARCHAR, 8, '0'), ?,"
            f" CASE WHEN hash(i + ?) % 100 < 2 THEN NULL ELSE {verdict} END,"
            " 'line 3: rule ' || ?, CASE WHEN hash(i + ?) % 100 < 2 THEN 'TimeoutError' END, 1.0 + i % 5,"
            " now()::TIMESTAMP FROM range(?) r(i)",
            [vid, workspace_id, k, k, k, n],
        )
    cur.execute("CHECKPOINT")


def run(n: int, n_evals: int, runs: int) -> dict[str, float]:
    from forge import auth, matrix
    from forge.store import connect
    from forge.store import evals as eval_store
    from forge.store import matrix as matrix_store
    from forge.store import ratings as rating_store
    from forge.ui import matrix_view

    with tempfile.TemporaryDirectory() as tmp:
        db = connect(Path(tmp) / "bench.duckdb")
        admin = auth.create_first_admin(db, "bench", "bench-password-123")
        access = auth.resolve_access(db, admin, action="edit")
        es = rating_store.get_or_create_eval_set(access, "bench set")
        vids = []
        for k in range(n_evals):
            ev = eval_store.create_eval(access, es["id"], f"eval-{k:02d}", "def evaluate(trace):\n    return True\n")
            vids.append(eval_store.versions(access, ev.id)[0].id)
        t0 = time.perf_counter()
        seed(db, access.workspace_id, es["id"], vids, n)
        print(
            f"matrix: seeded {n:,} traces x {n_evals} evals ({n * n_evals:,} results)"
            f" in {time.perf_counter() - t0:.1f} s"
        )
        cols = matrix.columns(access, es["id"])
        figures = {}

        def cold(fn):
            def run_cold():
                matrix._SUMMARIES.clear()  # the first view after a change: one pass over every result
                return fn()

            return run_cold

        first_page = lambda: matrix.page(access, es["id"], cols, page_size=50)  # noqa: E731
        med, _, result = time_ms(cold(first_page), runs)
        figures["matrix query"] = med
        print(f"matrix: {'matrix query, cold (page 1 + total)':40s} median {med:7.1f} ms  total={result.total:,}")
        med, _, _ = time_ms(first_page, runs)
        print(f"matrix: {'  warm (summary kept: paging, sorting)':40s} median {med:7.1f} ms")
        filtered = matrix.MatrixFilters(cells="contradictions", sources=("langfuse",), text="refund")
        med2, _, result2 = time_ms(lambda: matrix.page(access, es["id"], cols, filtered, page_size=50), runs)
        print(f"matrix: {'  warm, with filters + text':40s} median {med2:7.1f} ms  total={result2.total:,}")
        med3, _, _ = time_ms(lambda: matrix.page(access, es["id"], cols, page_no=500, page_size=50), runs)
        print(f"matrix: {'  warm, page 500':40s} median {med3:7.1f} ms")
        stats_fn = lambda: matrix.statistics(access, es["id"], cols)  # noqa: E731
        med, _, st = time_ms(cold(stats_fn), max(1, runs // 2))
        figures["statistics"] = med
        print(
            f"matrix: {'statistics, cold':40s} median {med:7.1f} ms  minimal set={len(st.minimal.evals)} evals"
            f" coverage={st.minimal.coverage:.2f}"
        )
        med, _, _ = time_ms(stats_fn, max(1, runs // 2))
        print(f"matrix: {'  warm (summary kept)':40s} median {med:7.1f} ms")
        shown = matrix.page(access, es["id"], cols, page_size=50)
        med, _, _ = time_ms(lambda: matrix_view.page_frame(shown, cols).to_html(), runs)
        figures["page render"] = med
        print(f"matrix: {'page render (pivot + colours + symbols)':40s} median {med:7.1f} ms")
        detail_ms, _, _ = time_ms(
            lambda: matrix_store.cell_detail(access, cols[0]["version_id"], shown.rows[0]["trace_id"]), runs
        )
        print(f"matrix: {'drill-down cell (reason, duration)':40s} median {detail_ms:7.1f} ms")
        db.close()
    for name, ms in figures.items():
        target = TARGETS_MS[name]
        print(
            f"matrix: {n:,} traces: {name} {ms:.0f} ms, target {target:.0f} ms, ratio {ms / target:.2f}"
            f" -> {'OK' if ms <= target else 'SLOWER THAN TARGET'}"
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.matrix", description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--evals", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    for n in args.traces:
        run(n, args.evals, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
