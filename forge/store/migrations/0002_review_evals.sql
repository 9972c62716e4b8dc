-- Forge schema, version 2: review (criterion versions, queues, several raters,
-- resolutions), eval versions and runs, API tokens.
-- DuckDB adds columns to an indexed table only when they are nullable (with a default).

-- Eval sets: target per class, archive, blind review, raters per trace,
-- the current criterion version, and whether the queue is an explicit list.
ALTER TABLE eval_sets ADD COLUMN target_per_class INTEGER DEFAULT 20;
ALTER TABLE eval_sets ADD COLUMN archived BOOLEAN DEFAULT FALSE;
ALTER TABLE eval_sets ADD COLUMN blind BOOLEAN DEFAULT FALSE;
ALTER TABLE eval_sets ADD COLUMN raters_per_trace INTEGER DEFAULT 1;
ALTER TABLE eval_sets ADD COLUMN criterion_version INTEGER DEFAULT 1;
ALTER TABLE eval_sets ADD COLUMN scoped BOOLEAN DEFAULT FALSE;
ALTER TABLE eval_sets ADD COLUMN updated_at TIMESTAMP;

-- Every edit of a criterion is a new version; version 1 is the text the set had.
CREATE TABLE eval_set_criteria (
    eval_set_id VARCHAR NOT NULL,
    version     INTEGER NOT NULL,
    criterion   VARCHAR NOT NULL,
    created_by  VARCHAR,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (eval_set_id, version)
);
INSERT INTO eval_set_criteria (eval_set_id, version, criterion, created_by, created_at)
SELECT id, 1, criterion, created_by, created_at FROM eval_sets;

-- The criterion version a rating was made under; recheck marks a rating re-queued.
ALTER TABLE ratings ADD COLUMN criterion_version INTEGER DEFAULT 1;
ALTER TABLE ratings ADD COLUMN recheck BOOLEAN DEFAULT FALSE;

-- An explicit queue: the traces added to a set (used when eval_sets.scoped).
CREATE TABLE eval_set_traces (
    eval_set_id  VARCHAR NOT NULL,
    trace_id     VARCHAR NOT NULL,
    workspace_id VARCHAR NOT NULL,
    added_by     VARCHAR,
    added_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (eval_set_id, trace_id)
);

-- The label an analyst settled on where raters disagree, or where the human
-- label was marked wrong (from the matrix). It wins over the majority.
CREATE TABLE rating_resolutions (
    eval_set_id  VARCHAR NOT NULL,
    trace_id     VARCHAR NOT NULL,
    workspace_id VARCHAR NOT NULL,
    value        VARCHAR NOT NULL CHECK (value IN ('pass', 'fail', 'neutral')),
    note         VARCHAR,
    kind         VARCHAR DEFAULT 'resolved',    -- resolved | label-wrong
    resolved_by  VARCHAR,
    resolved_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (eval_set_id, trace_id)
);

-- Eval versions: lineage (refinement), generation figures, held-out metrics;
-- evals: which version is current (roll back = point at an older one).
ALTER TABLE evals ADD COLUMN current_version INTEGER;
ALTER TABLE evals ADD COLUMN updated_at TIMESTAMP;
ALTER TABLE eval_versions ADD COLUMN parent_version INTEGER;
ALTER TABLE eval_versions ADD COLUMN note VARCHAR;           -- why this version exists
ALTER TABLE eval_versions ADD COLUMN generation JSON;        -- tokens, cost, time, status
ALTER TABLE eval_versions ADD COLUMN metrics JSON;           -- held-out figures at creation

-- Eval runs: what ran, how far it got, and how it ended.
ALTER TABLE eval_runs ADD COLUMN status VARCHAR;             -- running | done | failed | cancelled
ALTER TABLE eval_runs ADD COLUMN eval_version_ids JSON;
ALTER TABLE eval_runs ADD COLUMN total BIGINT;
ALTER TABLE eval_runs ADD COLUMN done BIGINT;
ALTER TABLE eval_runs ADD COLUMN error VARCHAR;
CREATE INDEX eval_results_ws ON eval_results (workspace_id, trace_id);

-- API tokens for the JSON API and the `forge` command against a server.
-- Only a hash is kept; the token is shown once when made.
CREATE TABLE api_tokens (
    id           VARCHAR PRIMARY KEY,
    user_id      VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    token_hash   VARCHAR NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked      BOOLEAN DEFAULT FALSE
);
