"""Schema: numbered migrations apply once, in one transaction each, and survive reopening."""

from __future__ import annotations

import threading

import duckdb
import pytest

from forge.store import connect, migrations

EXPECTED_TABLES = {
    "users",
    "login_attempts",
    "workspaces",
    "memberships",
    "runs",
    "traces",
    "eval_sets",
    "ratings",
    "evals",
    "eval_versions",
    "eval_runs",
    "eval_results",
    "jobs",
    "import_cursors",
    "schema_migrations",
}


def _tables(db):
    return {r[0] for r in db.fetchall("SELECT table_name FROM information_schema.tables")}


def test_fresh_database_migrates_twice_without_change(tmp_path):
    path = tmp_path / "fresh.duckdb"
    db = connect(path)
    first = db.fetchall("SELECT name FROM schema_migrations ORDER BY name")
    assert EXPECTED_TABLES <= _tables(db)
    assert [r[0] for r in first] == [name for name, _ in migrations.available()]
    db.close()

    db = connect(path)  # second open: nothing pending, nothing re-applied
    assert db.fetchall("SELECT name FROM schema_migrations ORDER BY name") == first
    assert migrations.apply(db.cursor()) == []
    db.close()


def test_data_survives_reopen(tmp_path):
    path = tmp_path / "keep.duckdb"
    db = connect(path)
    db.execute("INSERT INTO workspaces (id, name, created_at) VALUES ('w1', 'kept', now()::TIMESTAMP)")
    db.close()
    db = connect(path)
    assert db.scalar("SELECT name FROM workspaces WHERE id = 'w1'") == "kept"
    db.close()


def test_failed_migration_stays_pending_and_leaves_no_trace(tmp_path):
    path = tmp_path / "broken.duckdb"
    conn = duckdb.connect(str(path))
    shipped = migrations.available()
    migrations.apply(conn, shipped)
    conn.execute("INSERT INTO workspaces (id, name, created_at) VALUES ('w1', 'kept', now()::TIMESTAMP)")
    broken = shipped + [("9999_broken", "CREATE TABLE half_done (x INTEGER); SELECT * FROM no_such_table;")]
    with pytest.raises(duckdb.Error):
        migrations.apply(conn, broken)
    tables = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "half_done" not in tables
    assert "9999_broken" not in migrations.applied(conn)
    assert conn.execute("SELECT name FROM workspaces").fetchall() == [("kept",)]
    # Once fixed, the pending migration applies on the next open.
    fixed = shipped + [("9999_broken", "CREATE TABLE half_done (x INTEGER);")]
    assert migrations.apply(conn, fixed) == ["9999_broken"]
    conn.close()


def test_migration_numbers_are_unique_and_ordered():
    names = [name for name, _ in migrations.available()]
    assert names == sorted(names)
    assert len({n[:4] for n in names}) == len(names)
    assert names[0] == "0001_initial"


def test_threads_each_get_a_cursor_and_concurrent_writes_all_land(db):
    """Streamlit runs sessions in threads: many writers at once must all succeed."""
    errors = []

    def writer(n):
        try:
            for i in range(20):
                db.write(
                    lambda cur, n=n, i=i: cur.execute(
                        "INSERT INTO login_attempts VALUES (?, now()::TIMESTAMP, FALSE, 'web')",
                        [f"user{n}-{i}"],
                    )
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.scalar("SELECT count(*) FROM login_attempts") == 120


def test_conflicting_updates_are_retried_not_lost(db):
    """Two threads updating the same row conflict in DuckDB; db.write retries so no increment is lost."""
    db.execute(
        "INSERT INTO jobs (id, workspace_id, kind, status, done, created_at)"
        " VALUES ('j', 'w', 'x', 'running', 0, now()::TIMESTAMP)"
    )
    barrier = threading.Barrier(4)

    def bump():
        barrier.wait()
        for _ in range(10):
            db.write(lambda cur: cur.execute("UPDATE jobs SET done = done + 1 WHERE id = 'j'"))

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert db.scalar("SELECT done FROM jobs WHERE id = 'j'") == 40
