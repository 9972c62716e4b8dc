"""Each in-worker layer on its own, installed in a forked child of the test process.

The child installs exactly one layer (seccomp, rlimits, the audit hook, or the restricted
builtins) from forge/evals/worker.py, tries what an eval must not do, and reports back.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile

import pytest

from forge.evals import worker
from forge.evals.contract import ALLOWED_IMPORTS
from forge.evals.sandbox import isolation_status


def in_child(fn) -> dict:
    """Run ``fn()`` in a forked child; its dict result comes back as JSON over a pipe."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_fd)
        try:
            out = fn()
        except BaseException as exc:
            out = {"crashed": f"{type(exc).__name__}: {exc}"}
        os.write(write_fd, json.dumps(out).encode())
        os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


def attempt(fn) -> str:
    try:
        fn()
        return "allowed"
    except BaseException as exc:
        return type(exc).__name__


@pytest.mark.skipif(isolation_status()[0] != "full", reason="seccomp needed")
def test_seccomp_alone_denies_sockets_exec_fork_threads_and_writes(tmp_path):
    target = tmp_path / "written"

    def child() -> dict:
        import threading

        worker._install_seccomp(worker._import_pyseccomp())
        return {
            "socket": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
            "udp": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)),
            "fork": attempt(os.fork),
            "exec": attempt(lambda: os.execv("/bin/true", ["true"])),
            "thread": attempt(lambda: threading.Thread(target=lambda: None).start()),
            "write": attempt(lambda: open(target, "w")),
            "read": attempt(lambda: open("/etc/hostname").read()),
        }

    got = in_child(child)
    assert got == {
        "socket": "PermissionError",
        "udp": "PermissionError",
        "fork": "PermissionError",
        "exec": "PermissionError",
        "thread": "RuntimeError",
        "write": "PermissionError",
        "read": "allowed",
    }, got
    assert not target.exists()


def test_rlimits_alone_cap_memory_file_size_and_open_files(tmp_path):
    target = tmp_path / "big"

    def child() -> dict:
        fh = open(target, "wb")  # opened before the limits: the file-size limit still stops the write
        worker._set_rlimits(memory_mb=128, cpu_s=30)
        files = []

        def many_files():
            for _ in range(40):
                files.append(open("/etc/hostname"))

        return {
            "memory": attempt(lambda: bytearray(300 * 1024 * 1024)),
            "small_memory": attempt(lambda: bytearray(10 * 1024 * 1024)),
            "file_size": attempt(lambda: (fh.write(b"x" * 10), fh.flush())),
            "open_files": attempt(many_files),
        }

    got = in_child(child)
    assert got == {"memory": "MemoryError", "small_memory": "allowed", "file_size": "OSError", "open_files": "OSError"}
    assert target.stat().st_size == 0


def test_audit_hook_alone_refuses_files_network_processes_and_new_imports(tmp_path):
    target = tmp_path / "hooked"

    def child() -> dict:
        import subprocess

        worker.sys.addaudithook(worker._make_audit_hook([False]))
        return {
            "open": attempt(lambda: open(target, "w")),
            "socket": attempt(lambda: socket.socket()),
            "system": attempt(lambda: os.system("true")),
            "popen": attempt(lambda: subprocess.Popen(["true"])),
            "listdir": attempt(lambda: os.listdir("/")),
            "import": attempt(lambda: __import__("sqlite3")),
            "getframe": attempt(lambda: worker.sys._getframe(0)),
            "putenv": attempt(lambda: os.putenv("X", "1")),
            "pure": attempt(lambda: sum(range(10))),
        }

    got = in_child(child)
    refused = {k for k, v in got.items() if v == "SandboxViolation"}
    assert refused == {"open", "socket", "system", "popen", "listdir", "import", "getframe", "putenv"}, got
    assert got["pure"] == "allowed" and not target.exists()


def test_restricted_builtins_and_module_shells_alone():
    def child() -> dict:
        namespace = {"__builtins__": worker._restricted_builtins(ALLOWED_IMPORTS), "__name__": "forge_eval"}
        import collections  # noqa: F401  (loaded, as the worker preloads it)
        import json  # noqa: F401

        out = {}
        probes = {
            "open": "open('/etc/hostname')",
            "import_os": "import os",
            "exec": "exec('x = 1')",
            "getattr": "getattr(1, 'real')",
            "json_codecs": "import json\njson.codecs",
            "json_loads": "import json\nassert json.loads('[1]') == [1]",
            "print": "print('to nowhere')",
        }
        for name, src in probes.items():
            try:
                exec(compile(src, "<eval>", "exec"), dict(namespace))
                out[name] = "allowed"
            except BaseException as exc:
                out[name] = type(exc).__name__
        return out

    got = in_child(child)
    assert got == {
        "open": "NameError",
        "import_os": "ImportError",
        "exec": "NameError",
        "getattr": "NameError",
        "json_codecs": "AttributeError",
        "json_loads": "allowed",
        "print": "allowed",
    }, got


def test_the_worker_starts_from_an_empty_environment(monkeypatch):
    """bwrap (or the reduced worker) is started with env={}: nothing of the parent's reaches it."""
    from forge.evals.sandbox import run_evals

    probe = """
def _os():
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "_wrap_close":
            return c.__init__.__globals__
def evaluate(trace):
    return True, repr(sorted(_os()["environ"].items()))
"""
    monkeypatch.setenv("FORGE_LAYER_PROBE", "visible?")
    for mode in ("auto", "reduced"):
        v = run_evals({"p": probe}, [{"id": "1"}], isolation=mode, _skip_static=True).verdicts["p"][0]
        assert v.verdict is True and v.reason == "[]", v
    assert tempfile.gettempdir()  # the test process itself keeps its environment
