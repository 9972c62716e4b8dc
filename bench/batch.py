"""Batch-run benchmark: N rows x 3 models against stub servers answering in 200 ms, then judged by 5 evals.

Prints the wall time of the batch against the ideal for the concurrency limit,
ideal = ceil(calls / concurrency) x 0.2 s (target <= 1.2x: the pool stays full while
results are stored as runs and traces), and the time to judge every output with 5 evals
in the sandbox (verdicts stored).

    .venv/bin/python -m bench.batch              # 1,000 rows x 3 models = 3,000 calls
    .venv/bin/python -m bench.batch --rows 100   # a quick run
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

MODELS = ["openai/gpt-4o-mini", "openai/gpt-4.1-mini", "anthropic/claude-haiku-4-5"]
DELAY_S = 0.2
TARGET = 1.2
EVALS = {
    "non-empty": "def evaluate(trace):\n    return bool(trace['output_text'].strip())\n",
    "short": "def evaluate(trace):\n    return len(trace['output_text']) < 400\n",
    "mentions row": (
        "import re\n\ndef evaluate(trace):\n    return bool(re.search(r'row \\d+', trace['output_text']))\n"
    ),
    "no apology": "def evaluate(trace):\n    return 'sorry' not in trace['output_text'].lower()\n",
    "words": "def evaluate(trace):\n    n = len(trace['output_text'].split())\n    return n >= 3, f'{n} words'\n",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.batch")
    parser.add_argument("--rows", type=int, default=1000, help="dataset rows (default 1,000)")
    parser.add_argument("--concurrency", type=int, default=None, help="calls at once (default the setting, 16)")
    args = parser.parse_args(argv)

    from forge import auth, batch
    from forge.library import datasets, prompts
    from forge.llm.prompts import PromptSpec
    from forge.llm.retry import RetryPolicy
    from forge.store import connect
    from forge.store import evals as eval_store
    from forge.store import ratings as rating_store
    from tests.stubs.anthropic_stub import AnthropicStub
    from tests.stubs.openai_stub import OpenAIStub

    keys = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")
    saved = {k: os.environ.get(k) for k in keys}
    tmp = tempfile.TemporaryDirectory(prefix="forge-bench-batch-")
    db = connect(Path(tmp.name) / "bench.duckdb")
    try:
        admin = auth.create_first_admin(db, "bench", "bench-password-123", "Bench")
        ws = auth.resolve_workspace(db, admin)
        acc = auth.access(db, admin, ws.id, "edit")
        with (
            OpenAIStub(api_key="sk-bench", delay=DELAY_S) as oa,
            AnthropicStub(api_key="ak-bench", delay=DELAY_S) as an,
        ):
            os.environ.update(
                OPENAI_API_KEY="sk-bench",
                OPENAI_BASE_URL=oa.base_url,
                ANTHROPIC_API_KEY="ak-bench",
                ANTHROPIC_BASE_URL=an.base_url,
            )
            pv, _ = prompts.save(acc, "bench", PromptSpec(template="Answer {{question}}", max_tokens=64), MODELS)
            rows = "\n".join(f'{{"question": "row {i}: what is {i} + {i}?"}}' for i in range(args.rows))
            ds = datasets.save(acc, "bench", datasets.parse_upload("bench.jsonl", rows.encode()))
            plan = batch.plan_batch(acc, pv, ds, MODELS)
            policy = RetryPolicy(timeout=30, max_retries=0)
            # warm up: SDK imports, clients, the token encoder
            warm = batch.plan_batch(
                acc, pv, datasets.save(acc, "warm", datasets.parse_upload("w.jsonl", b'{"question": "w"}')), MODELS
            )
            batch.run_batch(acc, warm, policy=policy)
            concurrency = batch.concurrency_limit(args.concurrency)
            t0 = time.perf_counter()
            out = batch.run_batch(acc, plan, policy=policy, concurrency=concurrency)
            wall = time.perf_counter() - t0
            failed = [r for _, r in out.results if not r.ok]
            assert not failed, failed[0].error

        es = rating_store.get_or_create_eval_set(acc, "bench", "bench evals")
        for name, source in EVALS.items():
            ev = eval_store.create_eval(acc, es["id"], name, source, origin="llm")
            eval_store.set_status(acc, ev.id, "kept")
        t0 = time.perf_counter()
        judge = batch.judge_batch(acc, out.batch_id, es["id"])
        judge_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        j = batch.judged(acc, out.batch_id)
        table_s = time.perf_counter() - t0
    finally:
        db.close()
        tmp.cleanup()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    calls = plan.total_calls
    ideal = math.ceil(calls / concurrency) * DELAY_S
    ratio = wall / ideal
    verdict = "OK" if ratio <= TARGET else "ABOVE TARGET"
    print(
        f"batch: {args.rows:,} rows x {len(MODELS)} models = {calls:,} calls, {DELAY_S * 1000:.0f} ms stubs,"
        f" concurrency {concurrency}: wall {wall:.2f} s, ideal {ideal:.2f} s, ratio {ratio:.2f} (target <= {TARGET})"
        f" {verdict}"
    )
    print(f"       {calls / wall:.1f} calls/s; every output stored as a run and a trace")
    print(
        f"judge: {judge.outputs:,} outputs x {judge.evals} evals = {judge.outputs * judge.evals:,} verdicts in"
        f" {judge_s:.2f} s ({judge.isolation} isolation), stored; the judged table of {len(j.grid):,} cells"
        f" read back in {table_s:.2f} s"
    )


if __name__ == "__main__":
    main()
