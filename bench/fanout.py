"""Fan-out benchmark: five models whose stub answers after 1 s each.

Prints the wall time of one fan-out divided by 1 s (target <= 1.2: the models
run concurrently, not in sequence) and the app-side overhead per call, i.e. the
time per call against a stub that answers at once (SDK + runner + local HTTP).

    .venv/bin/python -m bench.fanout
"""

from __future__ import annotations

import os
import statistics
import time

MODELS = ["openai/gpt-4o-mini", "openai/gpt-4o", "openai/gpt-4.1", "openai/gpt-4.1-mini", "openai/gpt-5-mini"]
DELAY_S = 1.0
TARGET = 1.2


def main() -> None:
    from forge.llm.base import Request
    from forge.llm.retry import RetryPolicy
    from forge.llm.runner import run_fanout
    from tests.stubs.openai_stub import OpenAIStub

    saved = {k: os.environ.get(k) for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    policy = RetryPolicy(timeout=30, max_retries=0)
    try:
        with OpenAIStub(api_key="sk-bench", delay=DELAY_S) as slow, OpenAIStub(api_key="sk-bench") as fast:
            os.environ["OPENAI_API_KEY"] = "sk-bench"
            os.environ["OPENAI_BASE_URL"] = fast.base_url
            run_fanout(MODELS, Request("warm up", stream=False), policy=policy)  # SDK import, encoder, pools

            # App-side overhead: the same calls against a stub that answers at once.
            per_call = {}
            for stream in (False, True):
                req = Request("Summarise the benchmark in one line.", stream=stream)
                samples = []
                for _ in range(20):
                    t0 = time.perf_counter()
                    res = run_fanout(MODELS[:1], req, policy=policy)
                    samples.append((time.perf_counter() - t0) * 1000)
                    assert res[0].ok, res[0].error
                per_call[stream] = statistics.median(samples)

            os.environ["OPENAI_BASE_URL"] = slow.base_url
            walls = {}
            for stream in (False, True):
                req = Request("Summarise the benchmark in one line.", stream=stream)
                t0 = time.perf_counter()
                results = run_fanout(MODELS, req, policy=policy)
                walls[stream] = time.perf_counter() - t0
                failed = [r for r in results if not r.ok]
                assert not failed, failed[0].error
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    for stream in (False, True):
        kind = "streaming" if stream else "plain"
        ratio = walls[stream] / DELAY_S
        verdict = "OK" if ratio <= TARGET else "ABOVE TARGET"
        print(
            f"fanout {kind:9}: {len(MODELS)} models x {DELAY_S:.0f} s stub -> wall {walls[stream]:.3f} s,"
            f" wall/1s = {ratio:.2f} (target <= {TARGET}) {verdict}"
        )
    for stream in (False, True):
        kind = "streaming" if stream else "plain"
        print(f"overhead {kind:9}: {per_call[stream]:.1f} ms per call (median of 20, 0 s stub, real openai SDK + HTTP)")


if __name__ == "__main__":
    main()
