"""Run the real `forge` command in a subprocess, with the test's database."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def forge_cli(tmp_path):
    """forge_cli(*args, stdin=None, env={...}) -> Result, run as `python -m forge`."""

    def run(*args: str, stdin: str | None = None, env: dict | None = None, timeout: float = 120) -> Result:
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "forge", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=tmp_path,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run
