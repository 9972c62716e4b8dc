"""Migration 0007: stored traces without a time get their import time (flagged); models as the catalog names them."""

from __future__ import annotations

from datetime import datetime

import duckdb

from forge.store import migrations


def test_old_traces_get_import_time_and_catalog_model_names(tmp_path):
    conn = duckdb.connect(str(tmp_path / "old.duckdb"))
    shipped = migrations.available()
    before = [m for m in shipped if m[0] < "0007"]
    migrations.apply(conn, before)
    imported = datetime(2026, 5, 1, 9, 30)
    for sid, ts, models in (
        ("a", None, ["gpt-4o-mini", "openai/gpt-4o-mini"]),
        ("b", datetime(2026, 1, 1), ["claude-haiku-4-5", "mistral-large", "o3"]),
    ):
        conn.execute(
            "INSERT INTO traces (id, workspace_id, source, source_id, timestamp, models, imported_at, updated_at)"
            " VALUES (?, 'w', 'file', ?, ?, ?, ?, ?)",
            [sid, sid, ts, models, imported, imported],
        )
    migrations.apply(conn, shipped)
    rows = dict(
        (r[0], r[1:])
        for r in conn.execute("SELECT id, timestamp, timestamp_imputed, list_sort(models) FROM traces").fetchall()
    )
    assert rows["a"] == (imported, True, ["openai/gpt-4o-mini"])
    assert rows["b"] == (datetime(2026, 1, 1), False, ["anthropic/claude-haiku-4-5", "mistral-large", "openai/o3"])
