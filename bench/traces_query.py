"""Traces page query time over 100,000 traces (target: first page + total count <= 200 ms).

Seeds realistic traces (English-like input/output text of a few hundred words,
steps, tags, models, users) straight into a temporary DuckDB file, then times
``forge.traces.query.list_traces`` — the page's real query, count included —
with a filter plus a text search, and a few neighbouring cases.

    .venv/bin/python -m bench.traces_query [--traces N] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench import time_ms

TARGET_MS = 200.0

_COMMON = (
    "the a to of and in is it you that for on with as this be are at your can have not or from by we an "
    "will if do what there how about which when so all would more they their one our up out has was been"
).split()
_DOMAIN = (
    "order account payment invoice delivery shipping customer support ticket password reset login email "
    "subscription plan upgrade cancel price discount warranty product return address tracking number "
    "issue error message service request update status confirm verify balance card bank transfer date "
    "question answer help thanks please sorry understand policy document report summary data model "
    "analysis result table chart revenue quarter growth market sales team project deadline meeting "
    "schedule calendar weather city travel flight hotel booking recipe ingredient cooking time minutes "
    "python code function variable bug test deploy server database query index performance latency"
).split()
_RARE = "refund chargeback escalation lawsuit outage".split()
NAMES = ["chat", "rag-answer", "support-agent", "summarize", "classify", "sql-agent", "translate", "extract"]
TAGS = ["prod", "staging", "beta", "vip", "eu", "us", "mobile", "web", "regression", "canary"]
MODELS = ["openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-sonnet-4-5", "anthropic/claude-haiku-4-5"]
SOURCES = ["langfuse", "langfuse", "file", "playground"]


def _text(rng: random.Random, words: int) -> str:
    vocab = rng.choices(_COMMON, k=words // 2) + rng.choices(_DOMAIN, k=words - words // 2)
    rng.shuffle(vocab)
    if rng.random() < 0.02:
        vocab[rng.randrange(len(vocab))] = rng.choice(_RARE)
    out, i = [], 0
    while i < len(vocab):
        n = rng.randint(6, 18)
        sentence = " ".join(vocab[i : i + n])
        out.append(sentence[:1].upper() + sentence[1:] + ".")
        i += n
    return " ".join(out)


def seed(db, workspace_id: str, n: int, seed_value: int = 7, batch: int = 20_000) -> None:
    """Insert ``n`` realistic traces into ``workspace_id`` with plain SQL (no importer)."""
    import pyarrow as pa

    rng = random.Random(seed_value)
    now = datetime(2026, 11, 1)
    for start in range(0, n, batch):
        cols: dict[str, list] = {
            k: []
            for k in (
                "id",
                "source",
                "source_id",
                "name",
                "timestamp",
                "input",
                "output",
                "input_text",
                "output_text",
                "steps",
                "metadata",
                "tags",
                "models",
                "user_id",
                "latency_ms",
                "cost_usd",
                "input_tokens",
                "output_tokens",
            )
        }
        for i in range(start, min(n, start + batch)):
            q, a = _text(rng, rng.randint(20, 220)), _text(rng, rng.randint(40, 380))
            ts = now - timedelta(seconds=rng.randint(0, 90 * 86400))
            model = rng.choice(MODELS)
            steps = [
                {
                    "id": f"s{i}-0",
                    "parent_id": None,
                    "type": "span",
                    "name": "agent",
                    "model": None,
                    "start_time": ts.isoformat(),
                    "end_time": (ts + timedelta(seconds=2)).isoformat(),
                    "level": "DEFAULT",
                },
                {
                    "id": f"s{i}-1",
                    "parent_id": f"s{i}-0",
                    "type": "generation",
                    "name": "llm",
                    "model": model,
                    "input": q[:200],
                    "output": a[:200],
                    "input_tokens": len(q) // 4,
                    "output_tokens": len(a) // 4,
                    "cost_usd": 0.0001,
                    "level": "ERROR" if rng.random() < 0.03 else "DEFAULT",
                },
            ]
            cols["id"].append(f"t{i:07d}")
            cols["source"].append(rng.choice(SOURCES))
            cols["source_id"].append(f"src-{i}")
            cols["name"].append(rng.choice(NAMES))
            cols["timestamp"].append(ts)
            cols["input"].append(json.dumps({"messages": [{"role": "user", "content": q}]}))
            cols["output"].append(json.dumps({"role": "assistant", "content": a}))
            cols["input_text"].append(q)
            cols["output_text"].append(a)
            cols["steps"].append(json.dumps(steps))
            cols["metadata"].append(json.dumps({"env": rng.choice(["prod", "dev"]), "version": "1.4"}))
            cols["tags"].append(rng.sample(TAGS, rng.randint(0, 3)))
            cols["models"].append([model])
            cols["user_id"].append(f"user-{rng.randint(1, 2000)}")
            cols["latency_ms"].append(rng.uniform(200, 9000))
            cols["cost_usd"].append(rng.uniform(0.00005, 0.02))
            cols["input_tokens"].append(len(q) // 4)
            cols["output_tokens"].append(len(a) // 4)
        table = pa.table(cols)  # noqa: F841 - read by DuckDB below
        cur = db.cursor().cursor()  # its own handle: register() refuses a cursor with a pending result
        cur.register("seed_batch", table)
        cur.execute(
            "INSERT INTO traces (id, workspace_id, source, source_id, name, timestamp, input, output,"
            " input_text, output_text, steps, metadata, tags, models, user_id, latency_ms, cost_usd,"
            " input_tokens, output_tokens, imported_at, updated_at)"
            " SELECT id, ?, source, source_id, name, timestamp, input::JSON, output::JSON, input_text,"
            " output_text, steps::JSON, metadata::JSON, tags, models, user_id, latency_ms, cost_usd,"
            " input_tokens, output_tokens, now()::TIMESTAMP, now()::TIMESTAMP FROM seed_batch",
            [workspace_id],
        )
        cur.unregister("seed_batch")
        cur.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.traces_query", description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)

    from forge import auth
    from forge.store import connect
    from forge.traces.query import TraceFilters, facet_values, list_traces, trace_detail

    with tempfile.TemporaryDirectory() as tmp:
        db = connect(Path(tmp) / "bench.duckdb")
        admin = auth.create_first_admin(db, "bench", "bench-password-123")
        access = auth.resolve_access(db, admin)
        ws = access.workspace
        t0 = time.perf_counter()
        seed(db, ws.id, args.traces)
        seeded_s = time.perf_counter() - t0
        mb = db.scalar("SELECT sum(length(input_text) + length(output_text)) FROM traces") / 1e6
        print(f"traces_query: seeded {args.traces:,} traces ({mb:.0f} MB of text) in {seeded_s:.1f} s")

        cases = [
            ("filter + text search (target)", TraceFilters(sources=("langfuse",), text="refund")),
            ("text search only", TraceFilters(text="refund")),
            ("text search, no match", TraceFilters(text="no such phrase anywhere")),
            ("filters, no text", TraceFilters(sources=("langfuse",), tags=("vip",), models=("openai/gpt-4o",))),
            ("no filter", TraceFilters()),
        ]
        worst = 0.0
        for label, filters in cases:
            med, p95, page = time_ms(
                lambda filters=filters: list_traces(access, filters, page=1, page_size=50), args.runs
            )
            if label.endswith("(target)"):
                target_med, target_p95 = med, p95
            worst = max(worst, med)
            print(
                f"traces_query: {label:32s} median {med:7.1f} ms  p95 {p95:7.1f} ms"
                f"  total={page.total:,}  ratio to target {med / TARGET_MS:.2f}"
            )
        # The rest of a page load: the sidebar's filter choices and opening one trace.
        med, p95, _ = time_ms(lambda: facet_values(access), args.runs)
        print(f"traces_query: {'filter choices (sidebar)':32s} median {med:7.1f} ms  p95 {p95:7.1f} ms")
        some_id = db.scalar("SELECT id FROM traces ORDER BY timestamp DESC LIMIT 1 OFFSET 500")
        med, p95, _ = time_ms(lambda: trace_detail(access, some_id), args.runs)
        print(f"traces_query: {'open one trace (detail)':32s} median {med:7.1f} ms  p95 {p95:7.1f} ms")
        db.close()
    ok = target_med <= TARGET_MS
    print(
        f"traces_query: page query (first page + count, filter + text) median {target_med:.1f} ms,"
        f" p95 {target_p95:.1f} ms, target {TARGET_MS:.0f} ms, ratio {target_med / TARGET_MS:.2f}"
        f" -> {'OK' if ok else 'SLOWER THAN TARGET'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
