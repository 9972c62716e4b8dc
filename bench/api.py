"""REST ingestion over HTTP against a real server (python -m forge.ui.server on a free port).

Run: .venv/bin/python -m bench.api [--traces N] [--batch N] [--single N]
Targets: >= 2,000 traces/s in batches of 500; p95 of one small ingest request <= 50 ms.

The clock runs around the HTTP requests only (a keep-alive client, JSON bodies built
before): the server parses, checks, normalises and bulk-upserts each batch into DuckDB.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

TARGET_RATE = 2000.0
TARGET_P95_MS = 50.0


def _seed(db_path: Path) -> str:
    from forge import auth, tokens
    from forge.store import Database

    db = Database(str(db_path))
    try:
        admin = auth.create_first_admin(db, "admin", "bench password 1234")
        auth.resolve_workspace(db, admin)
        return tokens.create_token(db, admin, "bench")[0]
    finally:
        db.close()


def _trace(i: int) -> dict:
    return {
        "id": f"bench-{i:07d}",
        "name": "chat",
        "timestamp": f"2026-01-01T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
        "input": [{"role": "user", "content": f"Question {i} about the tent?"}],
        "output": {"role": "assistant", "content": f"Answer {i}: it sleeps four. " * 3},
        "metadata": {"app": "bench", "n": i},
        "tags": ["bench"],
        "user_id": f"user-{i % 50}",
        "latency_ms": 120.0 + i % 7,
        "cost_usd": 0.0001,
    }


def main() -> None:
    import httpx

    from bench import time_ms
    from tests.api.server import running_server

    p = argparse.ArgumentParser(prog="python -m bench.api")
    p.add_argument("--traces", type=int, default=20_000, help="traces sent in batches (default 20,000)")
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--single", type=int, default=200, help="single small requests timed for the p95")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="forge-bench-api-") as tmp:
        db_path = Path(tmp) / "bench.duckdb"
        token = _seed(db_path)
        # A rate limit as configured by default would hold the benchmark back: measure the server, not the limit.
        env = {"FORGE_API_RATE_LIMIT": "0"}
        with running_server(db_path, Path(tmp) / "server.log", env) as url:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
                import json

                bodies = [
                    json.dumps([_trace(i) for i in range(s, min(s + args.batch, args.traces))]).encode()
                    for s in range(0, args.traces, args.batch)
                ]
                client.post("/api/v1/traces", content=json.dumps([_trace(10**6)]).encode())  # warm up
                t0 = time.perf_counter()
                for body in bodies:
                    r = client.post("/api/v1/traces", content=body)
                    r.raise_for_status()
                seconds = time.perf_counter() - t0
                rate = args.traces / seconds
                total = client.get("/api/v1/traces?limit=1").json()["total"]
                assert total == args.traces + 1, total

                counter = iter(range(2 * 10**6, 3 * 10**6))

                def one() -> None:
                    r = client.post("/api/v1/traces", content=json.dumps(_trace(next(counter))).encode())
                    r.raise_for_status()

                median, p95, _ = time_ms(one, args.single)

    print(f"ingestion: {args.traces} traces in batches of {args.batch}: {seconds:.2f} s = {rate:,.0f} traces/s")
    print(f"  target >= {TARGET_RATE:,.0f} traces/s: ratio {rate / TARGET_RATE:.2f}x")
    print(f"single small ingest ({args.single} requests): median {median:.1f} ms, p95 {p95:.1f} ms")
    print(f"  target p95 <= {TARGET_P95_MS:.0f} ms: ratio {TARGET_P95_MS / p95:.2f}x (above 1 meets it)")


if __name__ == "__main__":
    main()
