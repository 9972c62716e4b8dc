"""Import throughput: 10,000 traces x 5 steps through the local Langfuse stub, end to end.

Run: .venv/bin/python -m bench.import_traces  (target >= 2,000 traces/s)

The clock runs around ``import_langfuse`` (real HTTP client -> stub server in its own
process -> mapping -> DuckDB). Library imports a fresh process pays once (httpx,
pandas via pyarrow: ~1 s) are timed separately and the rate with them is printed too.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
from pathlib import Path

TARGET = 2000.0


def make_traces(n: int, steps: int = 5) -> list[tuple[dict, list[dict]]]:
    out = []
    for i in range(n):
        tid = f"bench-{i:06d}"
        ts = f"2026-01-{1 + i // 5000:02d}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}.000Z"
        obs = []
        for j in range(steps):
            obs.append(
                {
                    "id": f"{tid}-{j}",
                    "traceId": tid,
                    "type": "GENERATION" if j % 2 else "SPAN",
                    "name": f"step-{j}",
                    "startTime": ts,
                    "endTime": ts,
                    "parentObservationId": None if j == 0 else f"{tid}-0",
                    "input": [{"role": "user", "content": f"Question {i} about topic {j}?"}],
                    "output": {"role": "assistant", "content": f"Answer {i}.{j} " * 5},
                    "model": "gpt-4o-mini" if j % 2 else None,
                    "level": "DEFAULT",
                    "statusMessage": None,
                    "usageDetails": {"input": 20 + j, "output": 30},
                    "costDetails": {"total": 0.0001},
                    "totalCost": 0.0001,
                    "metadata": {"k": j},
                }
            )
        trace = {"id": tid, "name": "bench", "timestamp": ts, "tags": ["bench"], "userId": "u", "sessionId": None}
        out.append((trace, obs))
    return out


def _serve(n, conn):
    """The stub in its own process, as a real Langfuse server would be."""
    from tests.stubs.langfuse_stub import LangfuseStub

    with LangfuseStub(make_traces(n), public_key="pk-lf-bench") as stub:
        stub._v2_observations({"limit": "1"})  # build its page cache before the clock starts
        conn.send(stub.env())
        conn.recv()


def main(n: int = 10000) -> float:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import multiprocessing as mp

    from forge import auth
    from forge.store import connect
    from forge.traces import langfuse

    tmp = tempfile.mkdtemp(prefix="forge-bench-")
    db = connect(Path(tmp) / "bench.duckdb")
    admin = auth.create_first_admin(db, "bench", "bench-password-1")
    access = auth.resolve_access(db, admin, action="import")
    # One-time library imports a fresh process pays on its first import (the running app
    # has them already): timed on their own and reported next to the throughput.
    t0 = time.perf_counter()
    importlib.import_module("httpx")  # the importer's HTTP client
    importlib.import_module("pyarrow").array([0])  # pyarrow imports pandas on first use
    warmup = time.perf_counter() - t0
    parent, child = mp.Pipe()
    server = mp.get_context("spawn").Process(target=_serve, args=(n, child), daemon=True)
    server.start()
    try:
        os.environ.update(parent.recv())
        t0, cpu0 = time.perf_counter(), time.process_time()
        summary = langfuse.import_langfuse(access)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        parent.send("stop")
        server.join(10)
    steps = db.scalar("SELECT sum(json_array_length(steps)) FROM traces")
    rate = summary["imported"] / elapsed
    cold = summary["imported"] / (elapsed + warmup)
    print(
        f"import_traces: {summary['imported']} traces ({steps} steps) via Langfuse stub (v2, "
        f"{summary['requests']} requests) in {elapsed:.2f} s = {rate:,.0f} traces/s "
        f"(target >= {TARGET:,.0f}/s, ratio {rate / TARGET:.2f}); a fresh process also pays "
        f"{warmup:.2f} s of one-time imports (httpx, pandas): {cold:,.0f} traces/s "
        f"(ratio {cold / TARGET:.2f}). Importer CPU {cpu:.2f} s (all its threads; the clock also "
        f"waits on the stub and on other load of this machine)"
    )
    db.close()
    return rate


if __name__ == "__main__":
    main()
