"""`make bench`: run every benchmark module in bench/ in turn."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    only = set(sys.argv[1:])
    failed = []
    for name in names:
        if only and name not in only:
            continue
        print(f"\n=== bench/{name}.py ===", flush=True)
        t0 = time.perf_counter()
        try:
            sys.argv = [f"bench.{name}"]  # a benchmark with options of its own runs on its defaults here
            importlib.import_module(f"bench.{name}").main()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            failed.append(name)
            print(f"bench/{name}: FAILED: {type(exc).__name__}: {exc}", flush=True)
        print(f"--- {name}: {time.perf_counter() - t0:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
