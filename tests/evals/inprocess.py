"""An in-process stand-in for the sandbox runner, for tests only: exec of eval sources with restricted
builtins and imports. Never used by forge/ (product code runs evals only in the sandbox)."""

from __future__ import annotations

import builtins
import time
from collections.abc import Mapping, Sequence

from forge.evals.contract import ALLOWED_IMPORTS, ENTRY_POINT, Verdict

_SAFE = {
    name: getattr(builtins, name)
    for name in (
        "abs all any bool dict enumerate float frozenset getattr int isinstance len list map max min "
        "range repr round set sorted str sum tuple zip ValueError TypeError KeyError Exception"
    ).split()
}


def _import(name, globals=None, locals=None, fromlist=(), level=0):
    if name.split(".")[0] not in ALLOWED_IMPORTS:
        raise ImportError(f"import of {name} is not allowed")
    return __import__(name, globals, locals, fromlist, level)


def run_in_process(sources: Mapping[str, str], traces: Sequence[dict]) -> dict[str, list[Verdict]]:
    """Same signature and result shape as the sandbox's run: one Verdict per trace per source."""
    out: dict[str, list[Verdict]] = {}
    for name, source in sources.items():
        namespace = {"__builtins__": {**_SAFE, "__import__": _import}, "__name__": "eval"}
        try:
            exec(compile(source, f"<{name}>", "exec"), namespace)
            evaluate = namespace[ENTRY_POINT]
        except Exception as exc:  # noqa: BLE001 - a broken eval is an error verdict, as in the sandbox
            out[name] = [Verdict.failed(f"{type(exc).__name__}: {exc}")] * len(traces)
            continue
        verdicts = []
        for trace in traces:
            start = time.perf_counter()
            try:
                result = evaluate(dict(trace))
                passed, reason = result if isinstance(result, tuple) else (result, None)
                verdicts.append(Verdict(bool(passed), reason, None, (time.perf_counter() - start) * 1000))
            except Exception as exc:  # noqa: BLE001
                verdicts.append(Verdict.failed(f"{type(exc).__name__}: {exc}"))
        out[name] = verdicts
    return out
