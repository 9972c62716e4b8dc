"""Workspaces and memberships: storage only (who may do what is decided in forge.auth)."""

from __future__ import annotations

from forge.store import new_id, utcnow
from forge.store.access import AuthError, Workspace
from forge.store.db import Database


def workspace_by_name(cur, name: str) -> Workspace | None:
    row = cur.execute("SELECT id, name, description FROM workspaces WHERE name = ?", [name]).fetchone()
    return Workspace(*row) if row else None


def insert_workspace(cur, name: str, description: str | None, created_by: str | None) -> Workspace:
    ws = Workspace(new_id(), name, description)
    cur.execute(
        "INSERT INTO workspaces (id, name, description, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
        [ws.id, name, description, created_by, utcnow()],
    )
    return ws


def insert_membership(cur, workspace_id: str, user_id: str) -> None:
    cur.execute(
        "INSERT INTO memberships (workspace_id, user_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [workspace_id, user_id, utcnow()],
    )


def ensure_workspace_with_member(cur, name: str, description: str | None, user_id: str) -> Workspace:
    """The workspace ``name`` (created when missing) with ``user_id`` as a member; inside a transaction."""
    ws = workspace_by_name(cur, name) or insert_workspace(cur, name, description, user_id)
    insert_membership(cur, ws.id, user_id)
    return ws


def create_workspace(db: Database, name: str, description: str | None, creator_id: str) -> Workspace:
    """A new workspace with its creator as first member; AuthError when the name is taken."""

    def txn(cur):
        if workspace_by_name(cur, name):
            raise AuthError(f"Workspace '{name}' already exists.")
        ws = insert_workspace(cur, name, description, creator_id)
        insert_membership(cur, ws.id, creator_id)
        return ws

    return db.write(txn)


def get_or_create_with_member(db: Database, name: str, user_id: str) -> Workspace:
    return db.write(lambda cur: ensure_workspace_with_member(cur, name, None, user_id))


def workspace_id_by_name(db: Database, name: str) -> str | None:
    return db.scalar("SELECT id FROM workspaces WHERE name = ?", [name])


def workspace_exists(db: Database, workspace_id: str) -> bool:
    return bool(db.scalar("SELECT count(*) FROM workspaces WHERE id = ?", [workspace_id]))


def workspaces_of(db: Database, user_id: str) -> list[Workspace]:
    """The workspaces ``user_id`` belongs to, by name."""
    return [
        Workspace(*r)
        for r in db.fetchall(
            "SELECT w.id, w.name, w.description FROM workspaces w"
            " JOIN memberships m ON m.workspace_id = w.id WHERE m.user_id = ? ORDER BY lower(w.name), w.name",
            [user_id],
        )
    ]


def all_workspaces(db: Database) -> list[dict]:
    """Every workspace with its members' user names."""
    rows = db.fetchdicts(
        "SELECT w.id, w.name, w.description, w.created_at,"
        " list(u.username ORDER BY u.username) FILTER (WHERE u.username IS NOT NULL) AS members"
        " FROM workspaces w LEFT JOIN memberships m ON m.workspace_id = w.id"
        " LEFT JOIN users u ON u.id = m.user_id GROUP BY ALL ORDER BY w.name"
    )
    for r in rows:
        r["members"] = r["members"] or []
    return sorted(rows, key=lambda r: (r["name"].lower(), r["name"]))


def add_member(db: Database, workspace_id: str, user_id: str) -> None:
    db.write(lambda cur: insert_membership(cur, workspace_id, user_id))


def remove_member(db: Database, workspace_id: str, user_id: str) -> None:
    db.execute("DELETE FROM memberships WHERE workspace_id = ? AND user_id = ?", [workspace_id, user_id])


def is_member(db: Database, user_id: str, workspace_id: str) -> bool:
    return bool(
        db.scalar("SELECT count(*) FROM memberships WHERE workspace_id = ? AND user_id = ?", [workspace_id, user_id])
    )


def membership(db: Database, user_id: str, workspace_id: str) -> tuple[str, bool, Workspace | None] | None:
    """(role, disabled, workspace if a member) for the user as stored now; None when it no longer exists.

    One query: this runs at every permission check.
    """
    row = db.fetchone(
        "SELECT u.role, u.disabled, w.id, w.name, w.description FROM users u"
        " LEFT JOIN memberships m ON m.user_id = u.id AND m.workspace_id = ?"
        " LEFT JOIN workspaces w ON w.id = m.workspace_id WHERE u.id = ?",
        [workspace_id, user_id],
    )
    if row is None:
        return None
    role, disabled, ws_id, ws_name, ws_description = row
    return role, disabled, (Workspace(ws_id, ws_name, ws_description) if ws_id is not None else None)


# Tables without a workspace_id column, cleared through the parent they hang from (in this order,
# before the parents go). Any table with a workspace_id column is cleared directly, so tables that
# later migrations add are covered without a change here.
_CHILD_TABLES = (
    ("eval_version_id", "SELECT v.id FROM eval_versions v JOIN evals e ON e.id = v.eval_id WHERE e.workspace_id = ?"),
    ("eval_id", "SELECT id FROM evals WHERE workspace_id = ?"),
    ("eval_run_id", "SELECT id FROM eval_runs WHERE workspace_id = ?"),
    ("eval_set_id", "SELECT id FROM eval_sets WHERE workspace_id = ?"),
    ("trace_id", "SELECT id FROM traces WHERE workspace_id = ?"),
    ("run_id", "SELECT id FROM runs WHERE workspace_id = ?"),
    ("job_id", "SELECT id FROM jobs WHERE workspace_id = ?"),
)
_KEEP = ("workspaces", "users", "login_attempts", "schema_migrations")


def delete_workspace(db: Database, workspace_id: str) -> dict[str, int]:
    """Delete a workspace and everything in it (traces, ratings, eval sets, evals, runs, jobs, members)
    in one transaction; returns rows deleted per table."""

    def txn(cur):
        columns: dict[str, set[str]] = {}
        for table, column in cur.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'main' AND table_name IN"
            " (SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE')"
        ).fetchall():
            columns.setdefault(table, set()).add(column)
        deleted: dict[str, int] = {}
        tables = [t for t in sorted(columns) if t not in _KEEP]
        for parent_key, parents in _CHILD_TABLES:
            for table in tables:
                if parent_key in columns[table] and "workspace_id" not in columns[table]:
                    n = cur.execute(
                        f"DELETE FROM {table} WHERE {parent_key} IN ({parents})", [workspace_id]
                    ).fetchone()[0]
                    deleted[table] = deleted.get(table, 0) + n
        for table in tables:
            if "workspace_id" in columns[table]:
                n = cur.execute(f"DELETE FROM {table} WHERE workspace_id = ?", [workspace_id]).fetchone()[0]
                deleted[table] = deleted.get(table, 0) + n
        deleted["workspaces"] = cur.execute("DELETE FROM workspaces WHERE id = ?", [workspace_id]).fetchone()[0]
        return deleted

    return db.write(txn)
