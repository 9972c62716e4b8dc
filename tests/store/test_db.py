"""Database.checkpoint: the WAL written into the file under a memory cap that grows if it must."""

from __future__ import annotations

import os

from forge.store.db import Database


def _filled(path) -> Database:
    db = Database(path)
    db.execute("SET checkpoint_threshold = '1GB'")  # no automatic checkpoint: the writes stay in the WAL
    db.execute("CREATE TABLE k (id VARCHAR PRIMARY KEY, v VARCHAR)")
    for batch in range(4):
        db.write(
            lambda cur, b=batch: cur.execute(
                "INSERT INTO k SELECT md5(? || '-' || i::VARCHAR), repeat('x', 50) FROM range(50000) t(i)", [str(b)]
            )
        )
    return db


def _mb(setting: str) -> float:
    number, unit = setting.split()
    return float(number) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[unit]


def test_checkpoint_under_a_cap_smaller_than_the_index_writes_everything(tmp_path):
    path = tmp_path / "forge.duckdb"
    db = _filled(path)
    in_use = db.scalar("SELECT sum(memory_usage_bytes) FROM duckdb_memory()") / 2**20
    assert os.path.getsize(f"{path}.wal") > 10_000_000
    assert db.checkpoint(1) is True  # 1 MB: far below the index of 200,000 keys
    wal = f"{path}.wal"
    assert not os.path.exists(wal) or os.path.getsize(wal) == 0  # nothing left to replay
    assert _mb(db.scalar("SELECT current_setting('memory_limit')")) >= in_use  # the cap made room for it
    db.close()
    again = Database(path)
    try:
        assert again.scalar("SELECT count(*) FROM k") == 200_000
        assert again.scalar("SELECT count(DISTINCT id) FROM k") == 200_000
    finally:
        again.close()


def test_checkpoint_keeps_the_cap_asked_for_when_it_suffices(tmp_path):
    db = _filled(tmp_path / "forge.duckdb")
    try:
        assert db.checkpoint(512) is True
        assert round(_mb(db.scalar("SELECT current_setting('memory_limit')"))) == round(512e6 / 2**20)
        assert db.scalar("SELECT count(*) FROM k") == 200_000
    finally:
        db.close()
