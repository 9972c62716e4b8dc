"""DuckDB connection handling: one connection per process, a cursor per thread."""

from __future__ import annotations

import contextlib
import random
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from forge.store import migrations

# DuckDB raises these when two transactions touch the same rows; retrying wins.
_CONFLICT_ERRORS = (duckdb.TransactionException,)
_MAX_RETRIES = 8


class DatabaseBusy(Exception):
    """Another process holds the database file (DuckDB allows one writing process)."""


class Database:
    """A DuckDB file shared by every thread of this process.

    DuckDB refuses one connection used from several threads at once, so each
    thread gets its own ``cursor()`` of the single connection.
    """

    def __init__(self, path: str | Path, read_only: bool = False):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            holder = re.search(r"\(PID (\d+)\)", str(exc))
            raise DatabaseBusy(
                f"The database {self.path} is in use by another process"
                f"{' (PID ' + holder.group(1) + ')' if holder else ''}, probably the running app: "
                "import through the app's Import page, stop the app, or set FORGE_DB to another file."
            ) from None
        self._local = threading.local()
        self._lock = threading.Lock()
        if not read_only:
            migrations.apply(self._conn)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """The calling thread's cursor, created on first use."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._lock:
                cur = self._conn.cursor()
            self._local.cursor = cur
        return cur

    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        """Run one statement on this thread's cursor (autocommit)."""
        return _retry(lambda: self.cursor().execute(sql, params or []))

    def fetchall(self, sql: str, params: Any = None) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def fetchone(self, sql: str, params: Any = None) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def fetchdicts(self, sql: str, params: Any = None) -> list[dict]:
        cur = self.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def scalar(self, sql: str, params: Any = None) -> Any:
        row = self.fetchone(sql, params)
        return row[0] if row else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One explicit transaction on this thread's cursor.

        Conflicts surface as ``TransactionException``; callers that can replay
        their work use :meth:`write` instead, which retries.
        """
        cur = self.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            raise
        else:
            try:
                cur.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
                raise

    def write(self, fn, *args, **kwargs):
        """Run ``fn(cursor, ...)`` in a transaction, retrying on write conflicts."""

        def attempt():
            with self.transaction() as cur:
                return fn(cur, *args, **kwargs)

        return _retry(attempt)

    def use_threads(self, n: int) -> None:
        """DuckDB's threads for this file in the whole process (each keeps its own allocator caches)."""
        self.execute(f"SET threads = {int(n)}")

    def checkpoint(self, memory_mb: int) -> bool:
        """Write the WAL into the file (what closing does) with DuckDB's buffer pool capped at ``memory_mb``.

        Uncapped, the checkpoint after a bulk write reads ~0.45 GB per million traces into memory;
        capped, DuckDB writes blocks out instead. The traces' indexes must stay in memory, so the
        cap is at least 1.5x what is in use; out of memory, it doubles and the checkpoint runs
        again. False when it could not be done: the cap is lifted, and closing checkpoints as before.
        The cap is for the whole process, which should be about to close (``forge import``):
        capping DuckDB while it writes risks errors (with a cap near an index's size DuckDB
        reported a duplicate key that was not one), so it is never set for writes.
        """
        cur = self.cursor()
        try:
            in_use = cur.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0] or 0
            cap = max(int(memory_mb), int(1.5 * in_use / 2**20) + 1)
            while cap <= 64 * 1024:
                try:
                    cur.execute(f"SET memory_limit = '{cap}MB'")
                    cur.execute("CHECKPOINT")
                    return True
                except duckdb.OutOfMemoryException:
                    cap *= 2
        except duckdb.Error:
            pass  # e.g. another transaction is open: closing checkpoints instead
        with contextlib.suppress(duckdb.Error):
            cur.execute("RESET memory_limit")
        return False

    def close(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self._conn.close()


def _retry(fn):
    for attempt in range(_MAX_RETRIES):
        try:
            return fn()
        except _CONFLICT_ERRORS:
            if attempt == _MAX_RETRIES - 1:
                raise
            time.sleep(0.01 * (2**attempt) * (0.5 + random.random()))
    raise AssertionError("unreachable")


def connect(path: str | Path | None = None) -> Database:
    """Open (and migrate) the database at ``path``, default from settings."""
    if path is None:
        from forge.config import settings

        path = settings().db_path
    return Database(path)
