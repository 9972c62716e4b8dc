"""Fixtures for the eval tests: a secret in the environment, listeners, process scans, HaluEval."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest

from forge.evals.sandbox import WORKER_FILE, close_idle_workers, isolation_status
from tests.conftest import SHARED_DATA

SECRET = "sk-secret-forge-sandbox-7f3a9c"
MODES = ["full", "reduced"]


def require_mode(mode: str) -> None:
    if mode == "full" and isolation_status("auto")[0] != "full":
        pytest.skip(f"full isolation unavailable here: {isolation_status('auto')[1]}")


@pytest.fixture(autouse=True)
def _secret_in_env(monkeypatch):
    """A provider key in the parent's environment: it must never reach an eval's output."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv("FORGE_SANDBOX", raising=False)


def processes_with(marker: str) -> list[str]:
    """Command lines of live (non-zombie) processes that mention ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(cmdline)
    return found


def workers_alive() -> list[str]:
    """Worker processes still running once the warm (never-used) ones are closed."""
    close_idle_workers()
    return processes_with(str(WORKER_FILE))


class Listeners:
    """A TCP and a UDP listener on 127.0.0.1 recording whatever reaches them."""

    def __init__(self):
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.tcp_port = self.tcp.getsockname()[1]
        self.udp_port = self.udp.getsockname()[1]
        self.received: list[str] = []
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._accept, daemon=True),
            threading.Thread(target=self._recv, daemon=True),
        ]
        for t in self.threads:
            t.start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                conn, addr = self.tcp.accept()
                self.received.append(f"tcp connection from {addr}")
                conn.close()
            except OSError:
                continue

    def _recv(self):
        while not self.stop.is_set():
            try:
                data, addr = self.udp.recvfrom(4096)
                self.received.append(f"udp datagram {data!r} from {addr}")
            except OSError:
                continue

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join()
        self.tcp.close()
        self.udp.close()


@pytest.fixture
def listeners():
    lst = Listeners()
    yield lst
    lst.close()


@pytest.fixture(scope="session")
def halueval() -> tuple[list[dict], list[bool]]:
    """HaluEval's general set as unified-ish traces and labels (True = good answer = pass)."""
    path = SHARED_DATA / "halueval_general.jsonl"
    if not path.exists():
        pytest.skip(f"{path} not found")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    traces = [{"id": r["id"], "input_text": r["input"], "output_text": r["output"], "steps": []} for r in rows]
    return traces, [r["human_label"] == 1 for r in rows]
