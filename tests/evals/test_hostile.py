"""The hostile corpus (tests/evals/hostile/*.py) under full and reduced isolation.

Each file says which side effect it tries (``# side-effect:``) and, optionally, the error it
must get (``# expect:``; ``any`` = with static validation skipped, only the absence of the
side effect is asserted). Every file runs twice per mode: through static validation (it must
be an error), and with ``_skip_static=True`` so the deeper layers stop it on their own.
All evals of one mode run in one run_evals call (each in its own worker), like a real run.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from forge.evals.sandbox import run_evals
from tests.evals.conftest import MODES, SECRET, Listeners, processes_with, require_mode, workers_alive

HOSTILE = Path(__file__).parent / "hostile"
FILES = sorted(HOSTILE.glob("*.py"))
TRACES = [{"id": "t1", "output_text": "first"}, {"id": "t2", "output_text": "second"}]


def _header(path: Path, key: str) -> str | None:
    for line in path.read_text().splitlines():
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    return None


def test_the_corpus_is_large_enough():
    assert len(FILES) >= 40


_RUNS: dict[tuple[str, bool], dict] = {}


def _run(mode: str, skip_static: bool, tmp_root: Path) -> dict:
    """One run of the whole corpus (cached per mode and static flag), with its side-effect probes."""
    key = (mode, skip_static)
    if key in _RUNS:
        return _RUNS[key]
    marker_dir = tmp_root / f"hostile-{mode}-{int(skip_static)}"
    marker_dir.mkdir(parents=True)
    marker_dir.chmod(0o777)  # writable for uid 65534 too: only the sandbox may stop the write
    lst = Listeners()
    token = uuid.uuid4().hex
    sources, markers = {}, {}
    for path in FILES:
        marker = marker_dir / f"{path.stem}-{token}"
        markers[path.stem] = marker
        sources[path.stem] = (
            path.read_text()
            .replace("{{MARKER}}", str(marker))
            .replace("{{MARKER_DIR}}", str(marker_dir))
            .replace("{{PORT}}", str(lst.tcp_port))
            .replace("{{UDP_PORT}}", str(lst.udp_port))
        )
    try:
        # 3 s per call: every file runs in its own worker at once, so on a loaded 2-core machine a
        # memory bomb may need more than a second of wall time to reach its cap (seen under load).
        outcome = run_evals(sources, TRACES, timeout_s=3.0, isolation=mode, _skip_static=skip_static)
        time.sleep(0.3)  # a process or thread that escaped would have acted by now
    finally:
        lst.close()
    result = {
        "outcome": outcome,
        "received": list(lst.received),
        "markers": markers,
        "marker_dir": marker_dir,
        "token": token,
        "alive": processes_with(token) + workers_alive(),
    }
    _RUNS[key] = result
    return result


@pytest.fixture(scope="module")
def tmp_root(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("skip_static", [False, True], ids=["static", "deep"])
def test_no_side_effect_escapes(mode, skip_static, tmp_root):
    require_mode(mode)
    r = _run(mode, skip_static, tmp_root)
    assert r["received"] == [], "a network packet reached the listener"
    assert list(r["marker_dir"].iterdir()) == [], "a file was written"
    assert r["alive"] == [], "a process outlived the run"
    for key, verdicts in r["outcome"].verdicts.items():
        for v in verdicts:
            assert SECRET not in f"{v.reason} {v.error}", f"{key} leaked the secret"
    assert r["outcome"].isolation == mode


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_static_validation_or_runtime_gives_an_error(path, mode, tmp_root):
    require_mode(mode)
    verdicts = _run(mode, False, tmp_root)["outcome"].verdicts[path.stem]
    assert len(verdicts) == len(TRACES)
    for v in verdicts:
        assert v.is_error, f"{path.stem}: {v}"
        assert len(v.error) < 2000


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_deeper_layers_stop_it_without_static_validation(path, mode, tmp_root):
    require_mode(mode)
    verdicts = _run(mode, True, tmp_root)["outcome"].verdicts[path.stem]
    expect = _header(path, "expect")
    assert len(verdicts) == len(TRACES)
    if expect == "any":
        return
    for v in verdicts:
        assert v.is_error, f"{path.stem}: {v}"
        if expect:
            assert expect.lower() in v.error.lower(), f"{path.stem}: {v.error}"
