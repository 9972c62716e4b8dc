"""The JSON API (/api/v1), served beside the UI by forge.ui.server; bearer-token auth.

Every request carries ``Authorization: Bearer <token>`` (tokens are made on the Settings
page); the token's user then goes through the same ``auth.access`` check as the pages.
401 without a valid token, 403 for a workspace the user is not a member of, 404 for
what does not exist (a trace in a workspace of someone else is unknown, not forbidden),
413 above the size limit, 429 above the rate limit. The endpoints mirror the `forge`
command (forge.api.spec lists them all and describes them at /api/v1/openapi.json);
``POST /api/v1/cli`` runs one `forge` command for the token's user (see forge.remote).
"""

from __future__ import annotations

from forge.api.core import (
    LIMITER,
    MAX_LIMIT,
    PREFIX,
    ApiError,
    Call,
    Json,
    _dbs,
    authenticate,
    bearer,
    database,
    int_param,
    max_body_bytes,
    rate_per_minute,
    serve,
    workspace_access,
)
from forge.api.spec import ENDPOINTS, openapi, routes
from forge.api.tunnel import CLI_POOL, run_command

__all__ = [
    "CLI_POOL",
    "ENDPOINTS",
    "LIMITER",
    "MAX_LIMIT",
    "PREFIX",
    "ApiError",
    "Call",
    "Json",
    "_dbs",
    "authenticate",
    "bearer",
    "database",
    "int_param",
    "max_body_bytes",
    "openapi",
    "rate_per_minute",
    "routes",
    "run_command",
    "serve",
    "workspace_access",
]
