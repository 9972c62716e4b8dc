"""Datasets: named tables of template variables in a workspace, every change a new version."""

from __future__ import annotations

import json

from forge.store import new_id, utcnow
from forge.store.access import Access

_VERSION_COLS = "v.id, v.dataset_id, v.version, v.columns, v.rows, v.n_rows, v.source, v.note, v.created_at"


def _decode(row: dict) -> dict:
    for key in ("columns", "rows"):
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


def list_datasets(access: Access) -> list[dict]:
    """The workspace's datasets with their current version's size, newest change first."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT d.id, d.name, d.description, d.current_version, v.n_rows, v.columns, d.created_at, d.updated_at,"
        " (SELECT max(version) FROM dataset_versions WHERE dataset_id = d.id) AS versions"
        " FROM datasets d LEFT JOIN dataset_versions v ON v.dataset_id = d.id AND v.version = d.current_version"
        " WHERE d.workspace_id = ? ORDER BY coalesce(d.updated_at, d.created_at) DESC, d.name",
        [access.workspace_id],
    )


def find_dataset(access: Access, name: str) -> dict | None:
    """The dataset called ``name`` in the workspace, or None."""
    access.need("read")
    rows = access.db.fetchdicts(
        "SELECT id, name, description, current_version FROM datasets WHERE workspace_id = ? AND name = ?",
        [access.workspace_id, name],
    )
    return rows[0] if rows else None


def get_version(access: Access, dataset_id: str, version: int | None = None) -> dict | None:
    """One version of a dataset (its current one when ``version`` is None), rows decoded, with its author."""
    access.need("read")
    pick = "v.version = ?" if version is not None else "v.version = d.current_version"
    params = [access.workspace_id, dataset_id] + ([int(version)] if version is not None else [])
    rows = access.db.fetchdicts(
        f"SELECT {_VERSION_COLS}, d.name, u.username AS author FROM dataset_versions v"
        " JOIN datasets d ON d.id = v.dataset_id LEFT JOIN users u ON u.id = v.created_by"
        f" WHERE d.workspace_id = ? AND d.id = ? AND {pick}",
        params,
    )
    return _decode(rows[0]) if rows else None


def get_version_by_id(access: Access, version_id: str) -> dict | None:
    access.need("read")
    rows = access.db.fetchdicts(
        f"SELECT {_VERSION_COLS}, d.name, u.username AS author FROM dataset_versions v"
        " JOIN datasets d ON d.id = v.dataset_id LEFT JOIN users u ON u.id = v.created_by"
        " WHERE d.workspace_id = ? AND v.id = ?",
        [access.workspace_id, version_id],
    )
    return _decode(rows[0]) if rows else None


def list_versions(access: Access, dataset_id: str) -> list[dict]:
    """Every version of a dataset, newest first, without its rows."""
    access.need("read")
    return access.db.fetchdicts(
        "SELECT v.id, v.version, v.n_rows, v.columns, v.source, v.note, v.created_at, u.username AS author"
        " FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id LEFT JOIN users u ON u.id = v.created_by"
        " WHERE d.workspace_id = ? AND d.id = ? ORDER BY v.version DESC",
        [access.workspace_id, dataset_id],
    )


def save_version(
    access: Access,
    name: str,
    columns: list[str],
    rows: list[dict],
    source: str,
    note: str | None = None,
    description: str | None = None,
) -> tuple[str, int]:
    """A new version of the dataset ``name`` (created when missing) made current; (dataset id, version)."""
    access.need("edit")
    now, user_id = utcnow(), access.user.id

    def txn(cur):
        found = cur.execute(
            "SELECT id FROM datasets WHERE workspace_id = ? AND name = ?", [access.workspace_id, name]
        ).fetchone()
        if found:
            dataset_id = found[0]
        else:
            dataset_id = new_id()
            cur.execute(
                "INSERT INTO datasets (id, workspace_id, name, description, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [dataset_id, access.workspace_id, name, description, user_id, now],
            )
        version = cur.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM dataset_versions WHERE dataset_id = ?", [dataset_id]
        ).fetchone()[0]
        cur.execute(
            "INSERT INTO dataset_versions (id, dataset_id, workspace_id, version, columns, rows, n_rows, source,"
            " note, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                new_id(),
                dataset_id,
                access.workspace_id,
                version,
                json.dumps(columns),
                json.dumps(rows),
                len(rows),
                source,
                note,
                user_id,
                now,
            ],
        )
        cur.execute("UPDATE datasets SET current_version = ?, updated_at = ? WHERE id = ?", [version, now, dataset_id])
        return dataset_id, version

    return access.db.write(txn)


def delete_dataset(access: Access, dataset_id: str) -> None:
    access.need("edit")
    with access.db.transaction() as cur:
        found = cur.execute(
            "SELECT id FROM datasets WHERE workspace_id = ? AND id = ?", [access.workspace_id, dataset_id]
        ).fetchone()
        if found:
            cur.execute("DELETE FROM dataset_versions WHERE dataset_id = ?", [dataset_id])
            cur.execute("DELETE FROM datasets WHERE id = ?", [dataset_id])
