-- Forge schema, version 9: scheduled Langfuse sync, per workspace.
--
-- "Import from Langfuse every N minutes": off unless every_seconds is set. The
-- import runs with the rights of the member who switched it on (run_as), checked
-- again on every run. The Langfuse keys stay in env/secrets, never here. The
-- last run's outcome is kept for the settings page.
CREATE TABLE langfuse_sync (
    workspace_id      VARCHAR PRIMARY KEY,
    every_seconds     DOUBLE,                 -- NULL: off
    run_as            VARCHAR,                -- users.id
    updated_by        VARCHAR,
    updated_at        TIMESTAMP,
    job_id            VARCHAR,                -- the running (or last) import job
    last_started_at   TIMESTAMP,
    last_finished_at  TIMESTAMP,
    last_status       VARCHAR,                -- done | failed
    last_imported     BIGINT,
    last_updated      BIGINT,
    last_skipped      BIGINT,
    last_failed       BIGINT,
    last_error        VARCHAR
);
