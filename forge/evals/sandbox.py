"""The eval sandbox: runs untrusted eval sources over traces in isolated worker processes.

Layers (each tested on its own in tests/evals/):
  1. static validation (forge/evals/validate.py) before anything runs;
  2. bubblewrap: all namespaces unshared (no network), a minimal read-only filesystem,
     a new /proc, new session, uid/gid 65534, started from an empty environment;
  3. seccomp in the worker: no sockets, exec, fork/clone (threads too), ptrace, ...;
  4. rlimits in the worker: address space, CPU, file size 0, open files, processes;
  5. a per-call time limit enforced from here: a worker whose call overruns is killed,
     restarted, and the remaining traces continue;
plus, inside the worker, restricted builtins and module shells, an audit hook and an empty env.

A worker runs exactly one eval source, so an eval that mutates a class or module it
imported cannot change another eval's verdicts; each trace reaches the eval freshly decoded.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import mmap
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from forge.evals.contract import (
    ALLOWED_IMPORTS,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    ProgressFn,
    Verdict,
)
from forge.evals.validate import validate_source

WORKER_FILE = Path(__file__).with_name("worker.py")
CHUNK_SIZE = 100
MAX_REASON_CHARS = 4000
STARTUP_TIMEOUT_S = 20.0  # python start + imports on a busy machine; not an eval's time
WORKER_CPU_S = 600  # RLIMIT_CPU backstop per worker; the per-call timer is the real limit
CHUNKS_PER_WORKER = 100  # a worker is recycled after this many chunks (keeps it under RLIMIT_CPU)
NOBODY = 65534
MAX_FRAME_BYTES = 32 * 1024 * 1024  # a bigger frame is a worker gone wrong, not a result
_IN_SANDBOX_LIB = "/forge/lib"
_IN_SANDBOX_WORKER = "/forge/worker.py"


@dataclass
class RunOutcome:
    """What a run produced: per source key one verdict per trace, and how isolated it was."""

    verdicts: dict[str, list[Verdict]]
    isolation: str  # "full" | "reduced"
    missing: list[str] = field(default_factory=list)  # the layers that were not in place


# ---------------------------------------------------------------- isolation status


def _site_paths() -> tuple[Path, Path]:
    """Where orjson (a package dir) and pyseccomp (one module) live."""
    orjson_dir = Path(orjson.__file__).resolve().parent
    spec = importlib.util.find_spec("pyseccomp")
    seccomp_file = Path(spec.origin).resolve() if spec and spec.origin else None
    return orjson_dir, seccomp_file  # type: ignore[return-value]


@lru_cache(maxsize=1)
def _bwrap_problem() -> str | None:
    """None when bubblewrap is installed and can create its namespaces here, else why not."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "bubblewrap (bwrap not installed)"
    try:
        proc = subprocess.run(
            [bwrap, *_bwrap_args(), "--", _python(), "-I", "-S", "-c", "pass"],
            env={},
            capture_output=True,
            timeout=STARTUP_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap (cannot start: {exc})"
    if proc.returncode != 0:
        return f"bubblewrap (cannot create a sandbox: {proc.stderr.decode(errors='replace').strip()[:200]})"
    return None


@lru_cache(maxsize=1)
def _seccomp_problem() -> str | None:
    if _site_paths()[1] is None:
        return "seccomp (pyseccomp not installed)"
    if not ctypes.util.find_library("seccomp"):
        return "seccomp (libseccomp not installed)"
    return None


def _forced_reduced(isolation: str) -> bool:
    return isolation == "reduced" or os.environ.get("FORGE_SANDBOX", "").strip().lower() == "reduced"


def isolation_status(isolation: str = "auto") -> tuple[str, list[str]]:
    """("full", []) when bubblewrap and seccomp are usable, else ("reduced", the missing layers).

    ``isolation="reduced"`` (or FORGE_SANDBOX=reduced) forces the in-Python layers only.
    """
    if _forced_reduced(isolation):
        return "reduced", ["bubblewrap (reduced isolation requested)", "seccomp (reduced isolation requested)"]
    missing = [p for p in (_bwrap_problem(), _seccomp_problem()) if p]
    return ("reduced" if missing else "full"), missing


# ---------------------------------------------------------------- the worker process


def _python() -> str:
    return os.path.realpath(sys.executable)


def _bwrap_args() -> list[str]:
    """A minimal read-only filesystem: system libraries, the Python install, orjson, pyseccomp, the worker."""
    args = ["--unshare-all", "--die-with-parent", "--new-session", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    for path in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/libx32", "/etc/ld.so.cache"):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    prefix = os.path.realpath(sys.base_prefix)
    if not prefix.startswith("/usr/"):
        args += ["--ro-bind", prefix, prefix]
    orjson_dir, seccomp_file = _site_paths()
    args += ["--ro-bind", str(orjson_dir), f"{_IN_SANDBOX_LIB}/orjson"]
    if seccomp_file:
        args += ["--ro-bind", str(seccomp_file), f"{_IN_SANDBOX_LIB}/pyseccomp.py"]
    args += ["--ro-bind", str(WORKER_FILE), _IN_SANDBOX_WORKER]
    args += ["--proc", "/proc", "--dev", "/dev", "--chdir", "/", "--remount-ro", "/"]
    return args


def _world_accessible(path: str) -> bool:
    """Whether uid 65534 could read ``path``: every parent directory traversable by others."""
    p = Path(path).resolve()
    try:
        if not p.stat().st_mode & 0o004:
            return False
        return all(parent.stat().st_mode & 0o001 for parent in p.parents)
    except OSError:
        return False


@dataclass
class _Config:
    timeout_s: float
    memory_mb: int
    full: bool
    drop_uid: bool


class _WorkerDied(Exception):
    """The worker stopped answering: ``index`` is the chunk position of the call it was in."""

    def __init__(self, index: int | None, reason: str):
        super().__init__(reason)
        self.index = index
        self.reason = reason


class _LoadFailed(Exception):
    """The eval could not be loaded: every verdict is an error with this reason."""


class _Worker:
    """One sandboxed worker process running one eval source."""

    def __init__(self, source: str, cfg: _Config, cancel: threading.Event):
        self.cfg = cfg
        self.cancel = cancel
        self.calls = 0  # calls the worker has finished and reported (heartbeat baseline)
        self.chunks = 0
        self.seccomp_error: str | None = None
        self.hb_fd = os.memfd_create("forge-eval-heartbeat", 0)
        os.ftruncate(self.hb_fd, 8)
        self.hb = memoryview(mmap.mmap(self.hb_fd, 8)).cast("q")
        orjson_dir, seccomp_file = _site_paths()
        if cfg.full:
            cmd = [shutil.which("bwrap") or "bwrap", *_bwrap_args(), "--", _python()]
            cmd += ["-I", "-S", "-B", _IN_SANDBOX_WORKER, _IN_SANDBOX_LIB]
            extra: dict[str, Any] = {}
        else:
            cmd = [_python(), "-I", "-S", "-B", str(WORKER_FILE), str(orjson_dir.parent)]
            extra = {"user": NOBODY, "group": NOBODY, "extra_groups": []} if cfg.drop_uid else {}
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={},  # bwrap itself starts from an empty environment: no key can be inherited
            cwd="/",
            pass_fds=(self.hb_fd,),
            start_new_session=True,
            close_fds=True,
            **extra,
        )
        self.out_fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        self.buf = bytearray()
        try:
            self._send(
                orjson.dumps(
                    {
                        "op": "init",
                        "source": source,
                        "allowed": sorted(ALLOWED_IMPORTS),
                        "memory_mb": cfg.memory_mb,
                        "cpu_s": WORKER_CPU_S,
                        "max_reason": MAX_REASON_CHARS,
                        "hb_fd": self.hb_fd,
                        "seccomp": cfg.full,
                    }
                )
            )
            ready = self._receive(deadline=time.monotonic() + STARTUP_TIMEOUT_S, watch=False)
            self.seccomp_error = ready.get("seccomp") if isinstance(ready, dict) else "no ready frame"
            loaded = self._receive(deadline=time.monotonic() + cfg.timeout_s, watch=False)
        except _WorkerDied as exc:
            self.close()
            raise _LoadFailed(exc.reason) from None
        if isinstance(loaded, dict) and "load_error" in loaded:
            self.close()
            raise _LoadFailed(str(loaded["load_error"]))

    def _send(self, payload: bytes) -> None:
        try:
            self.proc.stdin.write(len(payload).to_bytes(4, "big") + payload)  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            raise _WorkerDied(None, self._death_reason()) from None

    def _frame(self) -> bytes | None:
        if len(self.buf) >= 4:
            n = int.from_bytes(self.buf[:4], "big")
            if n > MAX_FRAME_BYTES:
                self.kill()
                raise _WorkerDied(None, "the eval corrupted the worker's output (oversized frame)")
            if len(self.buf) >= 4 + n:
                frame = bytes(self.buf[4 : 4 + n])
                del self.buf[: 4 + n]
                return frame
        return None

    def _receive(self, deadline: float, watch: bool, base: int = 0) -> Any:
        """The next frame, decoded. With ``watch``, a call that stalls past the time limit kills the worker."""
        poll = min(0.05, self.cfg.timeout_s / 4)
        last_seq, since = self.hb[0], time.monotonic()
        while True:
            frame = self._frame()
            if frame is not None:
                try:
                    decoded = orjson.loads(frame)
                except orjson.JSONDecodeError:
                    decoded = None
                if not isinstance(decoded, (dict, list)):
                    self.kill()
                    raise _WorkerDied(None, "the eval corrupted the worker's output (unreadable frame)")
                return decoded
            ready, _, _ = select.select([self.out_fd], [], [], poll)
            if ready:
                data = os.read(self.out_fd, 1 << 20)
                if not data:
                    index = self.hb[0] - base - 1 if watch else None
                    raise _WorkerDied(index if index is None or index >= 0 else None, self._death_reason())
                self.buf += data
                continue
            now = time.monotonic()
            if self.cancel.is_set():
                self.kill()
                raise _WorkerDied(None, "cancelled")
            if watch:
                seq = self.hb[0]
                if seq != last_seq:
                    last_seq, since = seq, now
                elif now - since > self.cfg.timeout_s:
                    self.kill()
                    index = seq - base - 1
                    raise _WorkerDied(
                        index if index >= 0 else None,
                        f"timeout: evaluate took longer than {self.cfg.timeout_s:g} s (stopped)",
                    )
            elif now > deadline:
                self.kill()
                raise _WorkerDied(None, f"timeout: loading the eval took longer than {self.cfg.timeout_s:g} s")

    def run_chunk(self, payload: bytes) -> list:
        """The raw results of one chunk; raises _WorkerDied (the worker is then dead)."""
        base = self.hb[0]
        self._send(payload)
        results = self._receive(deadline=0.0, watch=True, base=base)
        if not isinstance(results, list):
            self.kill()
            raise _WorkerDied(None, "the eval corrupted the worker's output (unexpected frame)")
        self.chunks += 1
        return results

    def _death_reason(self) -> str:
        try:
            code = self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        if code is not None and code < 0:
            sig = -code
            if sig == signal.SIGXCPU:
                return "CPU time limit exceeded (worker stopped)"
            if sig == signal.SIGSEGV:
                return "the eval crashed the worker (SIGSEGV: too deep recursion or memory exhausted in C code)"
            return f"the eval ended the worker process (signal {signal.Signals(sig).name})"
        if code == 1 and self.cfg.full and self.chunks == 0 and self.calls == 0:
            err = self._stderr_tail()
            if err:
                return f"the sandbox worker failed to start: {err}"
        # Under bwrap the outer process reports the worker's status as its exit code (128+signal).
        if code is not None and code > 128 and code - 128 in (signal.SIGSEGV, signal.SIGXCPU, signal.SIGKILL):
            sig = code - 128
            if sig == signal.SIGXCPU:
                return "CPU time limit exceeded (worker stopped)"
            if sig == signal.SIGSEGV:
                return "the eval crashed the worker (SIGSEGV: too deep recursion or memory exhausted in C code)"
            return "the eval ended the worker process (signal SIGKILL)"
        return f"the eval ended the worker process (exit code {code})"

    def _stderr_tail(self) -> str:
        try:
            fd = self.proc.stderr.fileno()  # type: ignore[union-attr]
            if select.select([fd], [], [], 0)[0]:
                return os.read(fd, 4096).decode(errors="replace").strip().splitlines()[-1][:300]
        except (OSError, IndexError, ValueError):
            pass
        return ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        """End the worker: EOF first (it exits), SIGKILL if it lingers; always reaped."""
        try:
            if self.proc.stdin and not self.proc.stdin.closed:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass
        self.kill()
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        try:
            self.hb.release()
        except (ValueError, BufferError):
            pass
        try:
            os.close(self.hb_fd)
        except OSError:
            pass


# ---------------------------------------------------------------- the run


def _verdicts(raw: list, n: int) -> list[Verdict]:
    out = []
    for item in raw[:n]:
        try:
            verdict, reason, error, ms = item
            ms = float(ms)
            if isinstance(reason, str) and len(reason) > MAX_REASON_CHARS:
                out.append(Verdict.failed(f"output too large: reason is {len(reason)} characters"))
            elif isinstance(error, str) and len(error) > 4 * MAX_REASON_CHARS:
                out.append(Verdict.failed(error[: 4 * MAX_REASON_CHARS] + "..."))
            elif verdict is True or verdict is False:
                out.append(Verdict(verdict=verdict, reason=reason if isinstance(reason, str) else None, duration_ms=ms))
            else:
                out.append(Verdict.failed(str(error or "error"), duration_ms=ms))
        except (TypeError, ValueError):
            out.append(Verdict.failed("the worker returned a malformed result"))
    while len(out) < n:
        out.append(Verdict.failed("the worker returned too few results"))
    return out


class _Run:
    """Shared state of one run_evals call: the work queue, the results, the counters."""

    def __init__(self, sources: Mapping[str, str], traces: Sequence[Mapping[str, Any]], cfg: _Config):
        self.sources = dict(sources)
        self.traces = traces
        self.cfg = cfg
        self.cancel = threading.Event()
        self.lock = threading.Lock()
        self.verdicts: dict[str, list[Verdict | None]] = {k: [None] * len(traces) for k in self.sources}
        self.load_errors: dict[str, str] = {}
        self.payloads: dict[int, bytes] = {}
        self.done = 0
        self.seccomp_errors: set[str] = set()
        n_chunks = (len(traces) + CHUNK_SIZE - 1) // CHUNK_SIZE
        self.queue = [(key, c) for key in self.sources for c in range(n_chunks)]
        self.next = 0

    def take(self) -> tuple[str, int] | None:
        with self.lock:
            if self.cancel.is_set() or self.next >= len(self.queue):
                return None
            item = self.queue[self.next]
            self.next += 1
            return item

    def payload(self, chunk: int) -> bytes:
        """A chunk's traces as JSON, encoded once and shared by every eval's workers."""
        data = self.payloads.get(chunk)
        if data is None:
            rows = self.traces[chunk * CHUNK_SIZE : (chunk + 1) * CHUNK_SIZE]
            data = orjson.dumps(list(rows), default=str, option=orjson.OPT_NON_STR_KEYS)
            self.payloads[chunk] = data
        return data

    def store(self, key: str, index: int, verdicts: list[Verdict]) -> None:
        with self.lock:
            self.verdicts[key][index : index + len(verdicts)] = verdicts
            self.done += len(verdicts)

    def slot(self) -> None:
        """One core's loop: take (eval, chunk) items; keep a worker per eval; restart it when it dies."""
        worker: _Worker | None = None
        worker_key: str | None = None
        try:
            while (item := self.take()) is not None:
                key, chunk = item
                start = chunk * CHUNK_SIZE
                n = min(CHUNK_SIZE, len(self.traces) - start)
                if worker is not None and (worker_key != key or worker.chunks >= CHUNKS_PER_WORKER):
                    worker.close()
                    worker = None
                pending = list(range(n))  # chunk positions still without a verdict
                payload = self.payload(chunk)
                while pending and not self.cancel.is_set():
                    if key in self.load_errors:
                        for i in pending:
                            self.store(key, start + i, [Verdict.failed(self.load_errors[key])])
                        break
                    if worker is None:
                        try:
                            worker = _Worker(self.sources[key], self.cfg, self.cancel)
                            worker_key = key
                            if worker.seccomp_error:
                                self.seccomp_errors.add(worker.seccomp_error)
                        except _LoadFailed as exc:
                            with self.lock:
                                self.load_errors.setdefault(key, str(exc))
                            continue
                    try:
                        raw = worker.run_chunk(payload)
                    except _WorkerDied as exc:
                        worker.close()
                        worker = None
                        if self.cancel.is_set():
                            break
                        # The call that hung or crashed gets the error; the others run again in a new worker.
                        culprit = pending[exc.index] if exc.index is not None and exc.index < len(pending) else pending[0]
                        self.store(key, start + culprit, [Verdict.failed(exc.reason, self.cfg.timeout_s * 1000.0
                                                                         if exc.reason.startswith("timeout") else 0.0)])
                        pending = [i for i in pending if i != culprit]
                        payload = orjson.dumps([self.traces[start + i] for i in pending], default=str,
                                               option=orjson.OPT_NON_STR_KEYS)
                        continue
                    for i, verdict in zip(pending, _verdicts(raw, len(pending))):
                        self.store(key, start + i, [verdict])
                    pending = []
        finally:
            if worker is not None:
                worker.close()


def run_evals(
    sources: Mapping[str, str],
    traces: Sequence[Mapping[str, Any]],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
    isolation: str = "auto",
    _skip_static: bool = False,
) -> RunOutcome:
    """Run every eval source over every trace in the sandbox; failures are error verdicts.

    ``_skip_static`` is for tests only: it bypasses static validation so the deeper layers
    (builtins, audit hook, seccomp, bubblewrap, rlimits, timer) are exercised on their own.
    """
    level, missing = isolation_status(isolation)
    drop_uid = False
    if level == "reduced" and os.geteuid() == 0:
        paths = [_python(), str(WORKER_FILE), str(_site_paths()[0])]
        drop_uid = all(_world_accessible(p) for p in paths)
        if not drop_uid:
            missing = [*missing, "unprivileged uid (the Python install is not readable by nobody)"]
    cfg = _Config(timeout_s=float(timeout_s), memory_mb=int(memory_mb), full=level == "full", drop_uid=drop_uid)
    run = _Run({}, traces, cfg)
    runnable: dict[str, str] = {}
    for key, source in sources.items():
        problem = None if _skip_static else validate_source(source)
        if problem:
            run.verdicts[key] = [Verdict.failed(problem) for _ in traces]
        else:
            runnable[key] = source
    statically_failed = {k: v for k, v in run.verdicts.items()}
    run = _Run(runnable, traces, cfg)
    total = len(sources) * len(traces)
    done_before = len(statically_failed) * len(traces)
    slots = max(1, min(workers or os.cpu_count() or 1, len(run.queue)))
    threads = [threading.Thread(target=run.slot, name=f"forge-eval-slot-{i}", daemon=True) for i in range(slots)]
    for t in threads:
        t.start()
    last_report = 0.0
    try:
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(timeout=0.1)
                break
            if cancelled is not None and not run.cancel.is_set() and cancelled():
                run.cancel.set()
            if progress is not None and time.monotonic() - last_report > 0.25:
                last_report = time.monotonic()
                progress(done_before + run.done, total, "running evals")
    except BaseException:
        run.cancel.set()
        for t in threads:
            t.join()
        raise
    verdicts: dict[str, list[Verdict]] = {}
    for key in sources:
        if key in statically_failed:
            verdicts[key] = statically_failed[key]  # type: ignore[assignment]
        else:
            verdicts[key] = [v if v is not None else Verdict.failed("cancelled") for v in run.verdicts[key]]
    if run.seccomp_errors:
        level = "reduced"
        missing = [*missing, *(f"seccomp ({e})" for e in sorted(run.seccomp_errors))]
    if progress is not None:
        progress(total, total, "done")
    return RunOutcome(verdicts=verdicts, isolation=level, missing=missing)


class Sandbox:
    """The EvalRunner of forge/evals/contract.py, backed by run_evals."""

    def __init__(self, *, memory_mb: int = DEFAULT_MEMORY_MB, workers: int | None = None, isolation: str = "auto"):
        self.memory_mb = memory_mb
        self.workers = workers
        self.isolation = isolation
        self.last_outcome: RunOutcome | None = None

    def status(self) -> tuple[str, list[str]]:
        return isolation_status(self.isolation)

    def run(
        self,
        sources: Mapping[str, str],
        traces: Sequence[Mapping[str, Any]],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        progress: ProgressFn | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> dict[str, list[Verdict]]:
        """One verdict per trace per source key, in trace order."""
        self.last_outcome = run_evals(
            sources,
            traces,
            timeout_s=timeout_s,
            memory_mb=self.memory_mb,
            workers=self.workers,
            progress=progress,
            cancelled=cancelled,
            isolation=self.isolation,
        )
        return self.last_outcome.verdicts
