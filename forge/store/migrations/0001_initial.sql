-- Forge schema, version 1. All timestamps are UTC (TIMESTAMP without zone).
-- No FOREIGN KEY constraints: DuckDB rewrites indexed rows on UPDATE and a
-- foreign key would then block ordinary edits; integrity is kept in forge/.

CREATE TABLE users (
    id            VARCHAR PRIMARY KEY,
    username      VARCHAR NOT NULL UNIQUE,
    name          VARCHAR NOT NULL,
    email         VARCHAR,
    password_hash VARCHAR NOT NULL,            -- bcrypt
    role          VARCHAR NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP)
);

-- Every login attempt, for throttling and for the admin's record.
CREATE TABLE login_attempts (
    username   VARCHAR NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    success    BOOLEAN NOT NULL,
    channel    VARCHAR NOT NULL DEFAULT 'web'   -- web | cli
);
CREATE INDEX login_attempts_user ON login_attempts (username);

CREATE TABLE workspaces (
    id          VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL UNIQUE,
    description VARCHAR,
    created_by  VARCHAR,
    created_at  TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP)
);

CREATE TABLE memberships (
    workspace_id VARCHAR NOT NULL,
    user_id      VARCHAR NOT NULL,
    added_at     TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP),
    PRIMARY KEY (workspace_id, user_id)
);

-- One row per model call in the playground or `forge run`; a fan-out shares batch_id.
CREATE TABLE runs (
    id                VARCHAR PRIMARY KEY,
    workspace_id      VARCHAR NOT NULL,
    user_id           VARCHAR,
    batch_id          VARCHAR NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    model             VARCHAR NOT NULL,       -- provider/model
    provider          VARCHAR NOT NULL,
    system_prompt     VARCHAR,
    prompt_template   VARCHAR NOT NULL,        -- with {{placeholders}}
    prompt            VARCHAR NOT NULL,        -- as sent
    variables         JSON,                    -- {name: value}
    context           JSON,                    -- [{name, text}]
    params            JSON,                    -- {temperature, max_tokens, stream, ...}
    output            VARCHAR,
    input_tokens      BIGINT,
    output_tokens     BIGINT,
    tokens_estimated  BOOLEAN NOT NULL DEFAULT FALSE,
    latency_ms        DOUBLE,
    ttft_ms           DOUBLE,
    cost_usd          DOUBLE,
    error             VARCHAR,
    trace_id          VARCHAR                  -- the playground trace recorded for it
);
CREATE INDEX runs_ws ON runs (workspace_id, created_at);

-- The unified trace (DESIGN.md). Steps are kept inline as JSON: they are read
-- with their trace, and inline storage keeps bulk import fast.
CREATE TABLE traces (
    id            VARCHAR PRIMARY KEY,
    workspace_id  VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,            -- langfuse | file | playground
    source_id     VARCHAR NOT NULL,
    name          VARCHAR,
    timestamp     TIMESTAMP,
    input         JSON,
    output        JSON,
    input_text    VARCHAR NOT NULL DEFAULT '',
    output_text   VARCHAR NOT NULL DEFAULT '',
    steps         JSON,                        -- [step, ...]
    metadata      JSON,
    tags          VARCHAR[],
    models        VARCHAR[],                   -- distinct step models, for filtering
    user_id       VARCHAR,                     -- the traced application's user
    session_id    VARCHAR,
    latency_ms    DOUBLE,
    cost_usd      DOUBLE,
    input_tokens  BIGINT,
    output_tokens BIGINT,
    imported_at   TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, source, source_id)
);

-- A named criterion in a workspace.
CREATE TABLE eval_sets (
    id           VARCHAR PRIMARY KEY,
    workspace_id VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    criterion    VARCHAR NOT NULL DEFAULT '',
    created_by   VARCHAR,
    created_at   TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP),
    UNIQUE (workspace_id, name)
);

-- One rater's verdict on one trace for one eval set.
-- rater is a username, or 'file:<name>' / 'langfuse:<score>' for imported labels.
CREATE TABLE ratings (
    id           VARCHAR PRIMARY KEY,
    workspace_id VARCHAR NOT NULL,
    eval_set_id  VARCHAR NOT NULL,
    trace_id     VARCHAR NOT NULL,
    rater        VARCHAR NOT NULL,
    user_id      VARCHAR,
    value        VARCHAR NOT NULL CHECK (value IN ('pass', 'fail', 'neutral')),
    note         VARCHAR,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (eval_set_id, trace_id, rater)
);

-- An eval function for an eval set; its code lives in versions.
CREATE TABLE evals (
    id           VARCHAR PRIMARY KEY,
    workspace_id VARCHAR NOT NULL,
    eval_set_id  VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    origin       VARCHAR NOT NULL CHECK (origin IN ('llm', 'synth', 'manual')),
    status       VARCHAR NOT NULL DEFAULT 'candidate'
                 CHECK (status IN ('candidate', 'kept', 'rejected')),
    description  VARCHAR,
    created_by   VARCHAR,
    created_at   TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP),
    UNIQUE (eval_set_id, name)
);

CREATE TABLE eval_versions (
    id          VARCHAR PRIMARY KEY,
    eval_id     VARCHAR NOT NULL,
    version     INTEGER NOT NULL,
    source      VARCHAR NOT NULL,              -- Python, defines evaluate(trace)
    model       VARCHAR,                       -- generator model, if any
    prompt      VARCHAR,                       -- generator prompt, if any
    created_by  VARCHAR,
    created_at  TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP),
    UNIQUE (eval_id, version)
);

-- One sandboxed batch of evals over traces.
CREATE TABLE eval_runs (
    id           VARCHAR PRIMARY KEY,
    workspace_id VARCHAR NOT NULL,
    eval_set_id  VARCHAR NOT NULL,
    job_id       VARCHAR,
    isolation    VARCHAR,                      -- full | reduced: what the sandbox had
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    created_by   VARCHAR
);

-- The latest verdict of an eval version on a trace.
CREATE TABLE eval_results (
    eval_version_id VARCHAR NOT NULL,
    trace_id        VARCHAR NOT NULL,
    workspace_id    VARCHAR NOT NULL,
    eval_run_id     VARCHAR,
    verdict         BOOLEAN,                   -- NULL when error
    reason          VARCHAR,
    error           VARCHAR,
    duration_ms     DOUBLE,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (eval_version_id, trace_id)
);

-- Long work (imports, generation, eval runs) with progress.
CREATE TABLE jobs (
    id           VARCHAR PRIMARY KEY,
    workspace_id VARCHAR NOT NULL,
    user_id      VARCHAR,
    kind         VARCHAR NOT NULL,             -- import | import-langfuse | generate | eval-run | ...
    status       VARCHAR NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    done         BIGINT NOT NULL DEFAULT 0,
    total        BIGINT,
    message      VARCHAR,
    params       JSON,
    result       JSON,
    error        VARCHAR,
    created_at   TIMESTAMP NOT NULL,
    started_at   TIMESTAMP,
    finished_at  TIMESTAMP
);

-- How far an incremental import got, per workspace and source (e.g. a Langfuse host).
CREATE TABLE import_cursors (
    workspace_id VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    key          VARCHAR NOT NULL,
    position     JSON NOT NULL,                -- e.g. {"last_timestamp": ..., "seen_ids": [...]}
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (workspace_id, source, key)
);
