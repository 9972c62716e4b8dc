"""File import at scale: a ~1,000,000-row JSONL file (~232 MB) through ``forge.traces.files.import_files``.

Run: .venv/bin/python -m bench.import [--rows N] [--compare /path/to/other/checkout]

Rows look like the HaluEval rows of the shared data (id, input, output, human_label, label_raw,
model; texts cut from the real rows when FORGE_SHARED_DATA has them). The import runs in a
child process (a fresh interpreter with a new database, as `forge import` would), which reports
the import's time and its own peak RSS (with `forge import`'s DuckDB settings) before it ends as
`forge import` does (a checkpoint with DuckDB's memory capped, then closing the database); the
peak including that end is ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` read after it ends.
``--compare`` runs the same file through another checkout of Forge (e.g. the code before the
streaming import) for a before/after; the machine's load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 400  # peak RSS target for the 1,000,000-row file (issue 16)

_CHILD = r"""
import json, sys, time
from pathlib import Path
from forge import auth
try:
    from forge.cli import IMPORT_CHECKPOINT_MB, import_process
except ImportError:  # a checkout from before these settings (--compare)
    IMPORT_CHECKPOINT_MB = import_process = None
from forge.store import connect
from forge.traces.files import import_files

path, db_path = sys.argv[1], sys.argv[2]
db = connect(Path(db_path))
if import_process:
    import_process(db)  # as `forge import` does
admin = auth.create_first_admin(db, "bench", "bench-password-1")
access = auth.resolve_access(db, admin, action="import")
t0, cpu0 = time.perf_counter(), time.process_time()
summary = import_files(access, [path])
elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
n = db.scalar("SELECT count(*) FROM traces")
import resource
before_close = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if IMPORT_CHECKPOINT_MB:
    db.checkpoint(IMPORT_CHECKPOINT_MB)  # as `forge import` ends: its checkpoint is part of the peak
db.close()
print(json.dumps({"elapsed": elapsed, "cpu": cpu, "traces": n, "imported": summary["imported"],
                  "failed": summary["failed"], "skipped": summary["skipped"], "import_peak_mb": before_close}))
"""


def _texts() -> list[tuple[str, str]]:
    """(input, output) pairs: the shared HaluEval rows cut short, else made-up ones."""
    shared = Path(os.environ.get("FORGE_SHARED_DATA", "/work/shared/data")) / "halueval_general.jsonl"
    pairs = []
    if shared.exists():
        for line in shared.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            pairs.append((str(row.get("input") or "")[:70], str(row.get("output") or "")[:60]))
    return pairs or [(f"Question {i} about a topic?", f"An answer of a few words, number {i}.") for i in range(500)]


def make_file(path: Path, rows: int, seed: int = 16) -> int:
    """Write ``rows`` JSONL rows to ``path`` (about 232 bytes each); returns the file size."""
    rnd = random.Random(seed)
    pairs = _texts()
    models = ["ChatGPT (gpt-3.5-turbo, 2023)", "openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(1, rows + 1):
            q, a = pairs[rnd.randrange(len(pairs))]
            label = rnd.random() < 0.8
            row = {
                "id": f"bench-{i:07d}",
                "input": q,
                "output": a,
                "human_label": int(label),
                "label_raw": "no" if label else "yes",
                "model": models[i % len(models)],
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path.stat().st_size


def run_import(code_root: Path, path: Path, workdir: Path) -> dict:
    """Import ``path`` with the Forge found at ``code_root``, in a child process; time and peak RSS (MB)."""
    db_path = workdir / f"bench-{code_root.name}-{time.monotonic_ns()}.duckdb"
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(db_path)],
        env=env,
        capture_output=True,
        text=True,
        cwd=code_root,
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise RuntimeError(f"import child failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # ru_maxrss of children is the largest child so far: a smaller later child cannot be told apart
    out["peak_mb"] = peak / 1024 if peak > before else None
    for p in workdir.glob(f"{db_path.name}*"):
        p.unlink()
    return out


def _line(label: str, r: dict, size_mb: float) -> str:
    rate = r["traces"] / r["elapsed"] if r["elapsed"] else 0.0
    peak = f"{r['peak_mb']:,.0f} MB" if r["peak_mb"] is not None else "not above an earlier child's"
    return (
        f"{label}: {r['traces']:,} traces from {size_mb:,.0f} MB in {r['elapsed']:.1f} s = {rate:,.0f} rows/s, "
        f"{size_mb / r['elapsed']:.1f} MB/s, CPU {r['cpu']:.1f} s; peak RSS {r['import_peak_mb']:,.0f} MB while "
        f"importing, {peak} with the database's closing checkpoint"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.import", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated file (default 1,000,000)")
    parser.add_argument("--compare", metavar="DIR", help="also import with the Forge checkout in DIR (before/after)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="forge-bench-import-") as tmp:
        work = Path(tmp)
        path = work / "traces.jsonl"
        t0 = time.perf_counter()
        size = make_file(path, args.rows)
        size_mb = size / 1e6
        print(f"import: generated {args.rows:,} rows, {size_mb:,.0f} MB in {time.perf_counter() - t0:.1f} s")
        load = os.getloadavg()
        # The lighter run goes first: RUSAGE_CHILDREN keeps the largest child's peak.
        now = run_import(ROOT, path, work)
        print(_line("import (this checkout)", now, size_mb))
        if args.compare:
            old = run_import(Path(args.compare).resolve(), path, work)
            print(_line(f"import ({args.compare})", old, size_mb))
            if now["peak_mb"] and old["peak_mb"]:
                print(
                    f"import: peak RSS {old['peak_mb']:,.0f} -> {now['peak_mb']:,.0f} MB "
                    f"({old['peak_mb'] / now['peak_mb']:.1f}x less), time {old['elapsed']:.1f} -> "
                    f"{now['elapsed']:.1f} s"
                )
        if args.rows >= 1_000_000:
            print(
                f"import: target peak RSS < {TARGET_MB} MB: ratio {now['import_peak_mb'] / TARGET_MB:.2f} while "
                f"importing" + (f", {now['peak_mb'] / TARGET_MB:.2f} with the close" if now["peak_mb"] else "")
            )
        print(f"import: load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} when the runs started")


if __name__ == "__main__":
    main()
