"""Read endpoints: who am I, workspaces, traces, eval sets and their ratings."""

from __future__ import annotations

from forge import auth
from forge.api.core import MAX_LIMIT, ApiError, Call, int_param
from forge.store import ratings as rating_store
from forge.store import traces as trace_store


def ws_json(access: auth.Access) -> dict:
    return {"id": access.workspace.id, "name": access.workspace.name}


def me(call: Call) -> dict:
    """GET /me: who the token belongs to."""
    u = call.user
    return {"id": u.id, "username": u.username, "name": u.name, "email": u.email, "role": u.role}


def workspaces(call: Call) -> dict:
    """GET /workspaces: the workspaces the user is a member of."""
    return {
        "workspaces": [
            {"id": w.id, "name": w.name, "description": w.description} for w in auth.workspaces_for(call.db, call.user)
        ]
    }


def traces(call: Call) -> dict:
    """GET /traces?workspace=&q=&limit=&offset=: newest first, ``q`` searched in input and output text."""
    access = call.workspace()
    limit = int_param(call.request, "limit", 50, 1, MAX_LIMIT)
    offset = int_param(call.request, "offset", 0, 0, 10**9)
    filters = trace_store.TraceFilters(text=call.query.get("q") or None)
    # The store pages by page number: read the one or two pages that cover [offset, offset + limit).
    first = offset // limit + 1
    page = trace_store.list_traces(access, filters, page=first, page_size=limit)
    rows = page.rows[offset % limit :]
    if offset % limit and len(page.rows) == limit:
        rows += trace_store.list_traces(access, filters, page=first + 1, page_size=limit).rows
    return {"workspace": ws_json(access), "total": page.total, "limit": limit, "offset": offset, "traces": rows[:limit]}


def readable(call: Call) -> list[auth.Access]:
    """``?workspace=`` checked, or every workspace of the user they may read."""
    if call.query.get("workspace"):
        return [call.workspace()]
    found = []
    for w in auth.workspaces_for(call.db, call.user):
        try:
            found.append(auth.access(call.db, call.user, w.id, "read"))
        except auth.PermissionDenied:
            continue
    return found


def trace(call: Call) -> dict:
    """GET /traces/{id}[?workspace=]: one trace in full, with its ratings."""
    trace_id = call.path("id")
    for access in readable(call):
        found = trace_store.get_trace(access, trace_id)
        if found is not None:
            return {"workspace": ws_json(access), **found, "ratings": rating_store.ratings_for_trace(access, trace_id)}
    raise ApiError(404, f"no trace '{trace_id}' in your workspaces")


def eval_sets(call: Call) -> dict:
    """GET /eval-sets?workspace=: the workspace's eval sets with their rating counts."""
    access = call.workspace()
    return {"workspace": ws_json(access), "eval_sets": rating_store.list_eval_sets(access)}


def find_set(access: auth.Access, name: str) -> dict:
    """The eval set called (or with the id) ``name``; 404 otherwise."""
    found = next((s for s in rating_store.list_eval_sets(access) if name in (s["name"], s["id"])), None)
    if found is None:
        raise ApiError(404, f"no eval set '{name}' in workspace '{access.workspace.name}'")
    return found


def eval_set_ratings(call: Call) -> dict:
    """GET /eval-sets/{name}/ratings?workspace=: every rating, and the human label per trace."""
    from forge.review.labels import human_labels

    access = call.workspace()
    found = find_set(access, call.path("name"))
    labels = human_labels(access, found["id"])
    return {
        "workspace": ws_json(access),
        "eval_set": found,
        "ratings": rating_store.set_ratings(access, found["id"]),
        "labels": labels.labels,
        "ties": labels.ties,
    }
