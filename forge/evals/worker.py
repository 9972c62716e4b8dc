"""The sandbox worker: runs ONE eval over chunks of traces, inside bubblewrap (or reduced).

Started by forge/evals/sandbox.py as ``python -I -S -B worker.py LIBDIR HB_FD SECCOMP`` with an empty
environment. It imports nothing from forge (only this file is mounted in the sandbox).
Protocol on fds 0/1: frames of a 4-byte big-endian length + JSON (orjson), never pickle.

  parent -> {"op": "init", ...}        worker -> {"ready": true, "seccomp": str|null}
  (worker loads the eval)              worker -> {"loaded": true} | {"load_error": str}
  parent -> [trace, trace, ...]        worker -> [[verdict, reason, error, ms], ...]

Before each call the worker writes the call's sequence number into a shared 8-byte
heartbeat (a memfd the parent mapped too): the parent enforces the per-call time limit
from outside and knows which call hung when it has to kill the worker.
"""

from __future__ import annotations

import os
import sys

# Layers installed here, in order: clean stdio, preloaded allowed modules, rlimits,
# seccomp, restricted builtins + module shells, audit hook. Order matters: everything
# the worker itself needs (imports, file reads) happens before the gates close.

_EVAL_FILE = "<eval>"
_EVAL_MODULE = "forge_eval"
_NOT_ALLOWED_BUILTINS = frozenset(
    {
        "__import__",
        "breakpoint",
        "compile",
        "delattr",
        "dir",
        "eval",
        "exec",
        "exit",
        "getattr",
        "globals",
        "help",
        "input",
        "locals",
        "memoryview",
        "open",
        "quit",
        "setattr",
        "vars",
        "copyright",
        "credits",
        "license",
    }
)
# Modules loaded before the gates close because allowed modules import them lazily
# (the eval's own imports are preloaded too: the parent lists them from the source).
_PRELOAD = (
    "__future__",
    "encodings.idna",
    "encodings.punycode",
    "encodings.unicode_escape",
    "encodings.raw_unicode_escape",
    "encodings.latin_1",
    "encodings.ascii",
    "encodings.utf_16",
    "encodings.utf_32",
    "encodings.cp1252",
)
_PRELOAD_WITH = {  # what these modules import inside their functions (found by scanning their source)
    "collections": ("collections.abc", "heapq", "copy"),
    "datetime": ("_strptime",),
    "difflib": ("re",),
    "functools": ("types", "typing", "weakref"),
    "html": ("html.entities", "html.parser"),
    "json": ("json.decoder", "json.encoder", "json.scanner"),
    "re": ("warnings", "unicodedata"),
    "statistics": ("collections", "heapq", "copy"),
    "string": ("re", "warnings", "unicodedata"),
}
_INTERNAL_IMPORTS = frozenset((*_PRELOAD, "_strptime"))
# Audit events an eval may cause; every other event (open, os.*, socket.*, subprocess.*,
# ctypes.*, import, sys._getframe, gc.get_referrers, ...) is refused.
_ALLOWED_EVENTS = frozenset({"exec", "compile", "time.sleep", "builtins.id", "object.__setattr__", "array.__new__"})


class SandboxViolation(PermissionError):
    """Raised by the audit hook: the eval tried something outside the eval contract."""


def _read_exact(fd: int, n: int) -> bytes | None:
    parts = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _read_frame(fd: int) -> bytes | None:
    head = _read_exact(fd, 4)
    if head is None:
        return None
    return _read_exact(fd, int.from_bytes(head, "big"))


def _write_frame(fd: int, payload: bytes) -> None:
    data = len(payload).to_bytes(4, "big") + payload
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _describe_event(event: str) -> str:
    kind = (
        "file"
        if event in ("open", "os.listdir", "os.scandir", "glob.glob", "shutil.copyfile")
        or event.startswith(("os.remove", "os.rename", "os.mkdir", "os.chmod", "shutil.", "tempfile."))
        else "network"
        if event.startswith(("socket.", "http.", "urllib.", "ftplib.", "smtplib."))
        else "process"
        if event.startswith(("subprocess.", "os.system", "os.exec", "os.fork", "os.posix_spawn", "os.spawn", "pty."))
        or event in ("os.kill", "os.killpg", "_thread.start_new_thread")
        else "environment"
        if event in ("os.putenv", "os.unsetenv")
        else "interpreter"
    )
    return f"forbidden: {kind} access ({event}) is not allowed in an eval"


def _describe(event: str, args: tuple) -> str:
    if event == "import" and args and type(args[0]) is str:
        return f"forbidden: import of '{args[0][:100]}' is not allowed in an eval"
    return _describe_event(event)


def _make_audit_hook(trusted: list[bool]):
    """The hook refuses every audit event an eval has no business causing."""
    allowed = _ALLOWED_EVENTS

    def hook(event: str, args: tuple) -> None:
        if event in allowed or trusted[0]:
            return
        if event == "object.__getattr__":  # __code__, tb_frame, gi_frame: the frame-walking escapes
            raise SandboxViolation(f"forbidden: introspection ({args[1] if len(args) > 1 else event})")
        raise SandboxViolation(_describe(event, args))

    return hook


def _set_rlimits(memory_mb: int, cpu_s: int) -> None:
    import resource

    limits = [
        (resource.RLIMIT_AS, memory_mb * 1024 * 1024),
        (resource.RLIMIT_CPU, cpu_s),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, 16),
        (resource.RLIMIT_NPROC, 0),
    ]
    for which, value in limits:
        resource.setrlimit(which, (value, value))


def _import_pyseccomp():
    """pyseccomp, imported before the eval is known (a warm worker has it ready)."""
    import ctypes.util

    sonames = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}
    real_find = ctypes.util.find_library
    ctypes.util.find_library = lambda name: sonames.get(name) or real_find(name)  # no ldconfig in the sandbox
    import pyseccomp

    return pyseccomp


def _install_seccomp(sc) -> None:
    """Deny network, exec, process creation (threads too), ptrace and kernel-admin syscalls."""
    import errno

    flt = sc.SyscallFilter(sc.ALLOW)
    denied = (
        "socket socketpair connect bind listen accept accept4 sendto sendmsg sendmmsg recvfrom recvmsg "
        "execve execveat fork vfork clone clone3 ptrace process_vm_readv process_vm_writev kill tkill tgkill "
        "mount umount2 pivot_root chroot unshare setns keyctl add_key request_key bpf perf_event_open "
        "userfaultfd personality open_by_handle_at name_to_handle_at init_module finit_module delete_module "
        "kexec_load reboot swapon swapoff syslog acct settimeofday clock_settime iopl ioperm quotactl "
        "io_uring_setup io_uring_enter io_uring_register memfd_create mknod mknodat link linkat symlink "
        "symlinkat unlink unlinkat rename renameat renameat2 mkdir mkdirat rmdir chmod fchmod fchmodat "
        "chown fchown fchownat lchown truncate ftruncate setuid setgid setreuid setregid setresuid setresgid "
        "setgroups prctl seccomp"
    ).split()
    eperm = sc.ERRNO(errno.EPERM)
    for name in denied:
        try:
            flt.add_rule(eperm, name)
        except Exception:  # a syscall this architecture lacks
            pass
    # Opening for writing or creating is refused; read-only opens stay (the fs is read-only anyway).
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    for bit in (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC, os.O_APPEND):
        flt.add_rule(eperm, "openat", sc.Arg(2, sc.MASKED_EQ, bit, bit))
        flt.add_rule(eperm, "open", sc.Arg(1, sc.MASKED_EQ, bit, bit))
    del write_flags
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "openat2")
    flt.load()


def _module_shell(mod, allowed_roots: frozenset[str], cache: dict):
    """A copy of an allowed module holding its public names; other modules it imported are left out."""
    import types

    name = mod.__name__
    if name in cache:
        return cache[name]
    shell = types.ModuleType(name, getattr(mod, "__doc__", None))
    cache[name] = shell
    for key, value in list(vars(mod).items()):
        if key.startswith("_"):
            continue
        if isinstance(value, types.ModuleType):
            if value.__name__.partition(".")[0] not in allowed_roots:
                continue
            value = _module_shell(value, allowed_roots, cache)
        setattr(shell, key, value)
    if name == "collections":  # namedtuple looks up its caller's frame, which the audit hook refuses
        real = mod.namedtuple

        def namedtuple(typename, field_names, *, rename=False, defaults=None, module=None):
            return real(typename, field_names, rename=rename, defaults=defaults, module=module or _EVAL_MODULE)

        shell.namedtuple = namedtuple
    return shell


def _restricted_builtins(allowed_roots: frozenset[str]) -> dict:
    import builtins

    shells: dict = {}

    def restricted_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level:
            raise ImportError("relative imports are not allowed in an eval")
        if type(name) is not str:
            raise ImportError("bad import")
        if name == "__future__" and fromlist and name in sys.modules:  # `from __future__ import annotations`
            return sys.modules[name]
        if name in _INTERNAL_IMPORTS and name in sys.modules:  # C code of allowed modules importing helpers
            return sys.modules[name]
        root = name.partition(".")[0]
        if root not in allowed_roots:
            raise ImportError(
                f"import of '{name}' is not allowed in an eval (allowed: {', '.join(sorted(allowed_roots))})"
            )
        if name not in sys.modules:  # imports are resolved from the source before the eval runs
            raise ImportError(f"'{name}' can only be imported with an import statement in the eval")
        target = name if fromlist else root
        return _module_shell(sys.modules[target], allowed_roots, shells)

    safe = {k: v for k, v in vars(builtins).items() if k not in _NOT_ALLOWED_BUILTINS}
    safe["__import__"] = restricted_import
    safe["print"] = lambda *a, **k: None  # stdout is the protocol's; printing is silently dropped
    return safe


def _eval_line(exc: BaseException, trusted: list[bool]) -> int | None:
    """The last line of the eval's own code in the exception's traceback."""
    trusted[0] = True
    try:
        line = None
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == _EVAL_FILE:
                line = tb.tb_lineno
            tb = tb.tb_next
        return line
    except BaseException:
        return None
    finally:
        trusted[0] = False


def _describe_exception(exc: BaseException, memory_mb: int, trusted: list[bool]) -> str:
    cls = type(exc)
    if issubclass(cls, MemoryError):
        return f"memory exceeded (limit {memory_mb} MB)"
    try:
        name = type.__dict__["__name__"].__get__(cls)
    except BaseException:
        name = "Exception"
    try:
        message = str(exc)  # may run the eval's own __str__: still inside the call's time limit
        if type(message) is not str:
            message = ""
    except BaseException:
        message = "(unprintable message)"
    if len(message) > 500:
        message = message[:500] + "..."
    line = _eval_line(exc, trusted)
    where = f" (line {line})" if line else ""
    if issubclass(cls, SandboxViolation):
        return f"{message}{where}"
    return f"{name}: {message}{where}" if message else f"{name}{where}"


def _check_result(result, max_reason: int):
    """(verdict, reason, error): only an exact bool or an exact (bool, str) tuple is a verdict."""
    if type(result) is bool:
        return result, None, None
    if type(result) is tuple and len(result) == 2 and type(result[0]) is bool and type(result[1]) is str:
        if len(result[1]) > max_reason:
            return None, None, f"output too large: reason is {len(result[1])} characters (limit {max_reason})"
        return result[0], result[1], None
    try:
        got = type.__dict__["__name__"].__get__(type(result))
    except BaseException:
        got = "an object"
    if type(result) is tuple:
        got = f"a tuple of {len(result)}" if len(result) != 2 else "a tuple that is not (bool, str)"
    return None, None, f"wrong return type: evaluate returned {got}; expected bool or (bool, str)"


def _valid_text(text: str | None) -> str | None:
    return text.encode("utf-8", "replace").decode("utf-8") if text else text


def main() -> int:
    libdir, hb_fd, want_seccomp = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    sys.path.insert(0, libdir)
    import gc
    import mmap
    import time

    import orjson

    heartbeat = memoryview(mmap.mmap(hb_fd, 8)).cast("q")
    os.close(hb_fd)  # the mapping stays; no fd is left through which an eval could fake progress
    seccomp_error = None
    sc = None
    if want_seccomp:
        try:
            sc = _import_pyseccomp()
        except BaseException as exc:  # reported to the parent, which then reports reduced isolation
            seccomp_error = f"{type(exc).__name__}: {exc}"
    # A warm worker waits here until the parent has an eval for it.
    frame = _read_frame(proto_in)
    if frame is None:
        return 0
    init = orjson.loads(frame)
    allowed_roots = frozenset(init["allowed"])
    memory_mb = int(init["memory_mb"])
    max_reason = int(init["max_reason"])
    wanted = [n for n in init["preload"] if n.partition(".")[0] in allowed_roots]
    roots = {n.partition(".")[0] for n in wanted}
    for name in wanted + [m for n in sorted(roots) for m in _PRELOAD_WITH.get(n, ())] + list(_PRELOAD):
        try:
            __import__(name)
        except ImportError:  # ``from json import loads`` lists json.loads: not a module, fine
            pass
    os.environ.clear()  # empty already; cleared again for the reduced path's sake
    if sc is not None:
        try:
            _install_seccomp(sc)
        except BaseException as exc:  # reported to the parent, which then reports reduced isolation
            seccomp_error = f"{type(exc).__name__}: {exc}"
    _set_rlimits(memory_mb, int(init["cpu_s"]))
    os.dup2(devnull, 2)  # startup diagnostics are over; an eval's writes go nowhere
    try:
        code = compile(init["source"], _EVAL_FILE, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        _write_frame(proto_out, orjson.dumps({"ready": True, "seccomp": seccomp_error}))
        line = getattr(exc, "lineno", None)
        _write_frame(
            proto_out, orjson.dumps({"load_error": f"syntax error: {exc}" + (f" (line {line})" if line else "")})
        )
        return 0
    for name in ("ctypes", "ctypes.util", "_ctypes", "pyseccomp", "mmap", "resource"):  # unreachable by name now
        sys.modules.pop(name, None)
    import _thread

    for name in ("start_new_thread", "start_new", "_start_joinable_thread"):  # no threads (seccomp too)
        if hasattr(_thread, name):
            delattr(_thread, name)
    trusted = [False]
    namespace = {"__name__": _EVAL_MODULE, "__builtins__": _restricted_builtins(allowed_roots)}
    _write_frame(proto_out, orjson.dumps({"ready": True, "seccomp": seccomp_error}))
    sys.addaudithook(_make_audit_hook(trusted))
    heartbeat[0] = 0
    try:
        exec(code, namespace)
        evaluate = namespace.get("evaluate")
        if not callable(evaluate):
            raise NameError("the eval defines no evaluate(trace) function")
    except BaseException as exc:
        _write_frame(proto_out, orjson.dumps({"load_error": _describe_exception(exc, memory_mb, trusted)}))
        return 0
    _write_frame(proto_out, orjson.dumps({"loaded": True}))
    gc.freeze()  # the worker's own objects are never garbage: keep the collector to the eval's
    del namespace, code, init, sc
    seq = 0
    perf = time.perf_counter
    while True:
        frame = _read_frame(proto_in)
        if frame is None:
            return 0
        results = []
        for trace in orjson.loads(frame):
            seq += 1
            heartbeat[0] = seq
            t0 = perf()
            try:
                verdict, reason, error = _check_result(evaluate(trace), max_reason)
            except BaseException as exc:
                verdict, reason, error = None, None, _describe_exception(exc, memory_mb, trusted)
            results.append((verdict, reason, error, (perf() - t0) * 1000.0))
            del trace
        try:
            payload = orjson.dumps(results)
        except TypeError:  # a reason or message with lone surrogates: made valid, never dropped
            payload = orjson.dumps([(v, _valid_text(r), _valid_text(e), d) for v, r, e, d in results])
        _write_frame(proto_out, payload)


if __name__ == "__main__":
    sys.exit(main())
