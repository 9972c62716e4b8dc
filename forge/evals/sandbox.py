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

import atexit
import ctypes.util
import fcntl
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
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
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
    withhold_labels,
)
from forge.evals.validate import imported_modules, validate_source

WORKER_FILE = Path(__file__).with_name("worker.py")
CHUNK_SIZE = 100
MAX_REASON_CHARS = 4000
STARTUP_TIMEOUT_S = 20.0  # python start + imports on a busy machine; not an eval's time
WORKER_CPU_S = 600  # RLIMIT_CPU backstop per worker; the per-call timer is the real limit
CHUNKS_PER_WORKER = 100  # a worker is recycled after this many chunks (keeps it under RLIMIT_CPU)
NOBODY = 65534
_F_SETPIPE_SZ = 1031
WARM_IDLE_S = 60.0  # a warm, never-used worker is closed after this long idle
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


@lru_cache(maxsize=1)
def _bwrap_args() -> tuple[str, ...]:
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
        cached = seccomp_file.parent / "__pycache__"
        for pyc in cached.glob("pyseccomp.*.pyc") if cached.is_dir() else ():
            args += ["--ro-bind", str(pyc), f"{_IN_SANDBOX_LIB}/__pycache__/{pyc.name}"]
    args += ["--ro-bind", str(WORKER_FILE), _IN_SANDBOX_WORKER]
    args += ["--proc", "/proc", "--dev", "/dev", "--chdir", "/", "--remount-ro", "/"]
    return tuple(args)


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


def _descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (from /proc/PID/task/PID/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for child in children:
            found.append(int(child))
            todo.append(int(child))
    return found


def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL a worker and everything under it (bwrap's namespace init and the python inside).

    The inner processes are killed directly and waited for: bwrap's --die-with-parent alone
    would end them a moment after this returns.
    """
    inner = _descendants(proc.pid) if proc.poll() is None else []
    for pid in [proc.pid, *inner]:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + 2.0
    while inner and time.monotonic() < deadline:
        inner = [pid for pid in inner if _running(pid)]
        if inner:
            time.sleep(0.005)


def _running(pid: int) -> bool:
    """Whether ``pid`` is still a live (non-zombie) process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class _WorkerDied(Exception):
    """The worker stopped answering; ``seq`` is the heartbeat (calls started) when it did, if known."""

    def __init__(self, seq: int | None, reason: str):
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


class _LoadFailed(Exception):
    """The eval could not be loaded: every verdict is an error with this reason."""


_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="forge-eval-spawner")


class _Spawned:
    """A started worker process (python + orjson + pyseccomp loaded) still waiting for its eval."""

    def __init__(self, full: bool, drop_uid: bool):
        self.created = time.monotonic()
        self.hb_fd = os.memfd_create("forge-eval-heartbeat", 0)
        os.ftruncate(self.hb_fd, 8)
        self.hb = memoryview(mmap.mmap(self.hb_fd, 8)).cast("q")
        orjson_dir, _ = _site_paths()
        tail = [str(self.hb_fd), "1" if full else "0"]
        if full:
            cmd = [shutil.which("bwrap") or "bwrap", *_bwrap_args(), "--", _python()]
            cmd += ["-I", "-S", "-B", _IN_SANDBOX_WORKER, _IN_SANDBOX_LIB, *tail]
            extra: dict[str, Any] = {}
        else:
            cmd = [_python(), "-I", "-S", "-B", str(WORKER_FILE), str(orjson_dir.parent), *tail]
            extra = {"user": NOBODY, "group": NOBODY, "extra_groups": []} if drop_uid else {}
        try:
            self.proc = self._popen(cmd, extra)
        except BaseException:
            self.hb.release()
            os.close(self.hb_fd)
            raise

    def _popen(self, cmd: list[str], extra: dict[str, Any]) -> subprocess.Popen:
        # Started from one long-lived thread: bwrap's --die-with-parent (PR_SET_PDEATHSIG) fires when
        # the *thread* that started it ends, which would kill workers started by short-lived threads.
        try:
            future = _SPAWNER.submit(
                subprocess.Popen,
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
        except RuntimeError as exc:  # the interpreter is shutting down
            raise OSError(f"cannot start a sandbox worker: {exc}") from None
        proc = future.result()
        for stream in (proc.stdin, proc.stdout):
            try:  # a whole chunk fits in the pipe: fewer wake-ups on both sides
                fcntl.fcntl(stream.fileno(), _F_SETPIPE_SZ, 1 << 20)  # type: ignore[union-attr]
            except OSError:
                pass
        return proc

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if stream:
                    stream.close()  # EOF: a waiting worker exits
            except OSError:
                pass
        try:
            self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            _kill_tree(self.proc)
        try:
            self.hb.release()
        except (ValueError, BufferError):
            pass
        try:
            os.close(self.hb_fd)
        except OSError:
            pass


class _WarmPool:
    """A few started, never-used worker processes, so a new eval rarely waits for python to start.

    A warm process has run no eval code; it is handed out once and never reused. Idle ones are
    closed after WARM_IDLE_S, by close_idle_workers(), or when Forge exits (bwrap's
    --die-with-parent; EOF on stdin in reduced mode).
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.idle: dict[tuple[bool, bool], list[_Spawned]] = {}
        self.filling: set[tuple[bool, bool]] = set()
        self.fillers: list[threading.Thread] = []
        self.generation = 0  # bumped by reap(everything=True): fills started before stop

    def take(self, key: tuple[bool, bool]) -> _Spawned | None:
        stale = []
        found = None
        with self.lock:
            procs = self.idle.get(key) or []
            while procs:
                spawned = procs.pop()
                if spawned.proc.poll() is None and time.monotonic() - spawned.created < WARM_IDLE_S:
                    found = spawned
                    break
                stale.append(spawned)
        for spawned in stale:
            spawned.close()
        return found

    def fill(self, key: tuple[bool, bool], size: int) -> None:
        """Start processes in the background until ``size`` are idle for ``key``."""
        with self.lock:
            if key in self.filling:
                return
            self.filling.add(key)

        generation = self.generation

        def work() -> None:
            try:
                while True:
                    with self.lock:
                        if len(self.idle.get(key, [])) >= size or generation != self.generation:
                            return
                    spawned = _Spawned(*key)
                    with self.lock:
                        stale = generation != self.generation
                        if not stale:
                            self.idle.setdefault(key, []).append(spawned)
                    if stale:
                        spawned.close()
                        return
            except OSError:
                return
            finally:
                with self.lock:
                    self.filling.discard(key)
                self._schedule_reap()

        thread = threading.Thread(target=work, name="forge-eval-warm", daemon=True)
        with self.lock:
            self.fillers = [t for t in self.fillers if t.is_alive()] + [thread]
        thread.start()

    def _schedule_reap(self) -> None:
        timer = threading.Timer(WARM_IDLE_S + 1.0, self.reap)
        timer.daemon = True
        timer.start()

    def reap(self, everything: bool = False) -> None:
        if everything:
            with self.lock:
                self.generation += 1
                fillers = list(self.fillers)
            for thread in fillers:
                thread.join(timeout=STARTUP_TIMEOUT_S)
        with self.lock:
            old = []
            for key, procs in self.idle.items():
                keep = [p for p in procs if not everything and time.monotonic() - p.created < WARM_IDLE_S]
                old += [p for p in procs if p not in keep]
                self.idle[key] = keep
        for spawned in old:
            spawned.close()

    def pids(self) -> list[int]:
        with self.lock:
            return [p.proc.pid for procs in self.idle.values() for p in procs]


_POOL = _WarmPool()
atexit.register(lambda: _POOL.reap(everything=True))


def close_idle_workers() -> None:
    """Close the warm, never-used worker processes now (tests; shutting down)."""
    _POOL.reap(everything=True)


class _Worker:
    """One sandboxed worker process running one eval source."""

    def __init__(self, source: str, cfg: _Config, cancel: threading.Event):
        self.cfg = cfg
        self.cancel = cancel
        self.sent = 0  # calls queued to the worker so far (the heartbeat counts calls started)
        self.key: str | None = None
        self.chunks = 0
        self.seccomp_error: str | None = None
        try:
            spawned = _POOL.take((cfg.full, cfg.drop_uid)) or _Spawned(cfg.full, cfg.drop_uid)
        except OSError as exc:
            raise _LoadFailed(f"the sandbox worker could not start: {exc}") from None
        self.proc, self.hb_fd, self.hb = spawned.proc, spawned.hb_fd, spawned.hb
        self.out_fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        self.buf = bytearray()
        try:
            self._send(
                orjson.dumps(
                    {
                        "op": "init",
                        "source": source,
                        "allowed": sorted(ALLOWED_IMPORTS),
                        "preload": imported_modules(source),
                        "memory_mb": cfg.memory_mb,
                        "cpu_s": WORKER_CPU_S,
                        "max_reason": MAX_REASON_CHARS,
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

    def _receive(self, deadline: float, watch: bool) -> Any:
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
                    raise _WorkerDied(self.hb[0] if watch else None, self._death_reason())
                self.buf += data
                continue
            now = time.monotonic()
            if self.cancel.is_set():
                self.kill()
                raise _WorkerDied(None, "cancelled")
            if watch:
                seq = self.hb[0]
                if seq < last_seq or seq > self.sent:  # only a tampering eval moves it backwards or ahead
                    self.kill()
                    raise _WorkerDied(None, "the eval tampered with the worker's heartbeat")
                if seq != last_seq:
                    last_seq, since = seq, now
                elif now - since > self.cfg.timeout_s:
                    self.kill()
                    raise _WorkerDied(seq, f"timeout: evaluate took longer than {self.cfg.timeout_s:g} s (stopped)")
            elif now > deadline:
                self.kill()
                raise _WorkerDied(None, f"timeout: loading the eval took longer than {self.cfg.timeout_s:g} s")

    def send_chunk(self, payload: bytes, n: int) -> int:
        """Queue a chunk of ``n`` traces; the heartbeat base of its first call."""
        base = self.sent
        self._send(payload)
        self.sent += n
        return base

    def receive_chunk(self) -> list:
        """The raw results of the oldest queued chunk; raises _WorkerDied (the worker is then dead)."""
        results = self._receive(deadline=0.0, watch=True)
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
        if code == 1 and self.cfg.full and self.chunks == 0 and self.sent == 0:
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
        _kill_tree(self.proc)

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


_SET_VERDICT, _SET_REASON, _SET_ERROR, _SET_MS = (
    Verdict.__dict__[name].__set__ for name in ("verdict", "reason", "error", "duration_ms")
)


def _verdict(verdict: bool, reason: str | None, ms: float) -> Verdict:
    """A passing/failing Verdict built without the frozen dataclass __init__ (a million per big run)."""
    out = object.__new__(Verdict)
    _SET_VERDICT(out, verdict)
    _SET_REASON(out, reason)
    _SET_ERROR(out, None)
    _SET_MS(out, ms)
    return out


def _verdicts(raw: list, n: int) -> list[Verdict]:
    """The worker's [verdict, reason, error, ms] rows as Verdicts; anything malformed is an error."""
    out: list[Verdict] = []
    append = out.append
    for item in raw[:n]:
        if type(item) is not list or len(item) != 4:
            append(Verdict.failed("the worker returned a malformed result"))
            continue
        verdict, reason, error, ms = item
        ms = ms if type(ms) is float else float(ms) if type(ms) is int else 0.0
        if reason is not None and (type(reason) is not str or len(reason) > MAX_REASON_CHARS):
            append(Verdict.failed("output too large: the reason is over the limit", duration_ms=ms))
        elif verdict is True or verdict is False:
            append(_verdict(verdict, reason, ms))
        else:
            text = error if type(error) is str and error else "error"
            append(Verdict.failed(text[: 4 * MAX_REASON_CHARS], duration_ms=ms))
    while len(out) < n:
        append(Verdict.failed("the worker returned too few results"))
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
        self.crashes: list[str] = []
        n_chunks = (len(traces) + CHUNK_SIZE - 1) // CHUNK_SIZE
        self.queue = [(key, c) for key in self.sources for c in range(n_chunks)]
        self.next = 0

    def take(self, key: str | None = None) -> tuple[str, int] | None:
        """The next (eval, chunk) item; with ``key``, only if it is that eval's."""
        with self.lock:
            if self.cancel.is_set() or self.next >= len(self.queue):
                return None
            item = self.queue[self.next]
            if key is not None and item[0] != key:
                return None
            self.next += 1
            return item

    def payload(self, chunk: int) -> bytes:
        """A chunk's traces as JSON, encoded once and shared by every eval's workers."""
        data = self.payloads.get(chunk)
        if data is None:
            rows = self.traces[chunk * CHUNK_SIZE : (chunk + 1) * CHUNK_SIZE]
            data = orjson.dumps([withhold_labels(r) for r in rows], default=str, option=orjson.OPT_NON_STR_KEYS)
            self.payloads[chunk] = data
        return data

    def store(self, key: str, index: int, verdicts: list[Verdict]) -> None:
        with self.lock:
            self.verdicts[key][index : index + len(verdicts)] = verdicts
            self.done += len(verdicts)

    def _fail_load(self, key: str, start: int, positions: list[int]) -> None:
        for i in positions:
            self.store(key, start + i, [Verdict.failed(self.load_errors[key])])

    def slot(self) -> None:
        """Run _slot; a bug in it becomes the error of the verdicts it leaves unfinished, not a hang."""
        try:
            self._slot()
        except Exception as exc:  # reported as verdicts, never raised into the caller
            with self.lock:
                self.crashes.append(f"sandbox error: {type(exc).__name__}: {exc}")

    def _slot(self) -> None:
        """One core's loop: take (eval, chunk) items; keep a worker per eval; restart it when it dies.

        Two chunks are kept in flight per worker, so it never waits for the parent between chunks.
        A call that hangs or crashes gets the error; the other traces of its chunk (and of the
        chunk queued behind it) run again in a fresh worker.
        """
        worker: _Worker | None = None
        inflight: deque[tuple[str, int, list[int], int]] = deque()  # (key, chunk, positions, heartbeat base)
        retry: deque[tuple[str, int, list[int]]] = deque()
        try:
            while True:
                # Fill the window: up to two chunks of the worker's eval.
                while len(inflight) < 2 and not self.cancel.is_set():
                    if retry:
                        if inflight and worker is not None and worker.key != retry[0][0]:
                            break
                        key, chunk, positions = retry.popleft()
                    else:
                        item = self.take(worker.key if inflight and worker is not None else None)
                        if item is None:
                            break  # nothing left, or the next chunk is another eval's: drain first
                        key, chunk = item
                        positions = list(range(min(CHUNK_SIZE, len(self.traces) - chunk * CHUNK_SIZE)))
                    start = chunk * CHUNK_SIZE
                    if key in self.load_errors:
                        self._fail_load(key, start, positions)
                        continue
                    if (
                        worker is not None
                        and (worker.key != key or worker.chunks >= CHUNKS_PER_WORKER)
                        and not inflight
                    ):
                        worker.close()
                        worker = None
                    if worker is None:
                        try:
                            worker = _Worker(self.sources[key], self.cfg, self.cancel)
                            worker.key = key
                            if worker.seccomp_error:
                                self.seccomp_errors.add(worker.seccomp_error)
                        except _LoadFailed as exc:
                            with self.lock:
                                self.load_errors.setdefault(key, str(exc))
                            self._fail_load(key, start, positions)
                            continue
                    if len(positions) == min(CHUNK_SIZE, len(self.traces) - start):
                        payload = self.payload(chunk)
                    else:
                        payload = orjson.dumps(
                            [withhold_labels(self.traces[start + i]) for i in positions],
                            default=str,
                            option=orjson.OPT_NON_STR_KEYS,
                        )
                    try:
                        base = worker.send_chunk(payload, len(positions))
                    except _WorkerDied:
                        retry.appendleft((key, chunk, positions))
                        worker.close()
                        worker = None
                        for item in reversed(inflight):
                            retry.appendleft(item[:3])
                        inflight.clear()
                        continue
                    inflight.append((key, chunk, positions, base))
                if not inflight or self.cancel.is_set():
                    break
                key, chunk, positions, base = inflight[0]
                start = chunk * CHUNK_SIZE
                assert worker is not None
                try:
                    raw = worker.receive_chunk()
                except _WorkerDied as exc:
                    worker.close()
                    worker = None
                    if self.cancel.is_set():
                        break
                    index = exc.seq - base - 1 if exc.seq is not None else -1
                    culprit = positions[index] if 0 <= index < len(positions) else positions[0]
                    duration = self.cfg.timeout_s * 1000.0 if exc.reason.startswith("timeout") else 0.0
                    self.store(key, start + culprit, [Verdict.failed(exc.reason, duration)])
                    rest = [(key, chunk, [i for i in positions if i != culprit])]
                    rest += [item[:3] for item in list(inflight)[1:]]
                    inflight.clear()
                    for item in reversed(rest):
                        if item[2]:
                            retry.appendleft(item)
                    continue
                inflight.popleft()
                verdicts = _verdicts(raw, len(positions))
                if positions == list(range(positions[0], positions[0] + len(positions))):
                    self.store(key, start + positions[0], verdicts)
                else:
                    for i, verdict in zip(positions, verdicts, strict=True):
                        self.store(key, start + i, [verdict])
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
    keep_warm: bool = True,
    _skip_static: bool = False,
) -> RunOutcome:
    """Run every eval source over every trace in the sandbox; failures are error verdicts.

    ``keep_warm`` leaves a few started, never-used workers for the next run (closed after a
    minute idle). ``_skip_static`` is for tests only: it bypasses static validation so the deeper layers
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
    runnable: dict[str, str] = {}
    statically_failed: dict[str, list[Verdict]] = {}
    for key, source in sources.items():
        problem = None if _skip_static else validate_source(source)
        if problem:
            statically_failed[key] = [Verdict.failed(problem) for _ in traces]
        else:
            runnable[key] = source
    run = _Run(runnable, traces, cfg)
    total = len(sources) * len(traces)
    done_before = len(statically_failed) * len(traces)
    slots = max(1, min(workers or os.cpu_count() or 1, len(run.queue)))
    if len(runnable) > 1:
        _POOL.fill((cfg.full, cfg.drop_uid), slots)  # the next eval's worker starts while this one runs
    threads = [threading.Thread(target=run.slot, name=f"forge-eval-slot-{i}", daemon=True) for i in range(slots)]
    for t in threads:
        t.start()
    last_report = 0.0
    try:
        while alive := [t for t in threads if t.is_alive()]:
            alive[0].join(timeout=0.1)
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
            verdicts[key] = statically_failed[key]
        else:
            unfinished = Verdict.failed("cancelled" if run.cancel.is_set() or not run.crashes else run.crashes[0])
            verdicts[key] = [v if v is not None else unfinished for v in run.verdicts[key]]
    if run.seccomp_errors:
        level = "reduced"
        missing = [*missing, *(f"seccomp ({e})" for e in sorted(run.seccomp_errors))]
    if progress is not None:
        progress(total, total, "done")
    if keep_warm and run.queue:
        _POOL.fill((cfg.full, cfg.drop_uid), slots)
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
