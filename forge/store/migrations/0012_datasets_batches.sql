-- Forge schema, version 12: datasets (named, versioned tables of template variables)
-- and batch runs (a prompt version over a dataset's rows on several models).

CREATE TABLE datasets (
    id              VARCHAR PRIMARY KEY,
    workspace_id    VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,
    description     VARCHAR,
    current_version INTEGER,                   -- roll back = point at an older version
    created_by      VARCHAR,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP,
    UNIQUE (workspace_id, name)
);

-- Every change is a new version; a version is never edited. Rows are kept inline
-- ([{"vars": {name: value}, "expected": str|null, "notes": str|null}]): a dataset is
-- read whole, and a few thousand rows of text fit one JSON value.
CREATE TABLE dataset_versions (
    id          VARCHAR PRIMARY KEY,
    dataset_id  VARCHAR NOT NULL,
    workspace_id VARCHAR NOT NULL,             -- so deleting a workspace clears its versions too
    version     INTEGER NOT NULL,
    columns     JSON NOT NULL,                 -- variable names, in order
    rows        JSON NOT NULL,
    n_rows      INTEGER NOT NULL,
    source      VARCHAR,                       -- upload | grid | traces | rollback
    note        VARCHAR,
    created_by  VARCHAR,
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (dataset_id, version)
);

-- One batch run: a prompt version over a dataset version on several models.
CREATE TABLE batches (
    id                 VARCHAR PRIMARY KEY,
    workspace_id       VARCHAR NOT NULL,
    prompt_version_id  VARCHAR,
    prompt_label       VARCHAR,                -- "name v3", kept if the prompt is deleted
    dataset_version_id VARCHAR,
    dataset_label      VARCHAR,
    models             JSON NOT NULL,
    job_id             VARCHAR,
    status             VARCHAR NOT NULL,       -- running | done | stopped | cancelled | failed
    stop_reason        VARCHAR,
    total              BIGINT NOT NULL,        -- rows x models
    done               BIGINT NOT NULL DEFAULT 0,
    estimate_usd       DOUBLE,
    max_cost_usd       DOUBLE,
    spent_usd          DOUBLE,
    eval_set_id        VARCHAR,                -- the last judging
    eval_run_id        VARCHAR,
    created_by         VARCHAR,
    created_at         TIMESTAMP NOT NULL,
    finished_at        TIMESTAMP
);

-- Each call of a batch: which row and model made which run (its trace is runs.trace_id).
CREATE TABLE batch_cells (
    batch_id   VARCHAR NOT NULL,
    workspace_id VARCHAR NOT NULL,
    row_index  INTEGER NOT NULL,
    model      VARCHAR NOT NULL,
    run_id     VARCHAR NOT NULL,
    PRIMARY KEY (batch_id, row_index, model)
);
