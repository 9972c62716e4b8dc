-- Forge schema, version 11: the prompt and context library (issue 14).
--
-- A prompt is a name in a workspace; each save of changed content is a new,
-- immutable row of prompt_versions. A version pins the context it was saved
-- with (document id, name, text and hash in `context`), so editing a library
-- document later never changes what an old version sends.

CREATE TABLE prompts (
    id           VARCHAR PRIMARY KEY,
    workspace_id VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    created_by   VARCHAR,                      -- username
    created_at   TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE prompt_versions (
    id            VARCHAR PRIMARY KEY,         -- stored on runs.prompt_version_id
    workspace_id  VARCHAR NOT NULL,
    prompt_id     VARCHAR NOT NULL,
    version       INTEGER NOT NULL,            -- 1, 2, ...
    system_prompt VARCHAR,
    template      VARCHAR NOT NULL,
    params        JSON,                        -- {temperature, max_tokens, stream}
    models        JSON,                        -- ["provider/model", ...]
    context       JSON,                        -- [{doc_id|null, name, text, hash}] as saved
    content_hash  VARCHAR NOT NULL,            -- of everything above: an unchanged save is found by it
    note          VARCHAR,                     -- e.g. "roll back to v1"
    author        VARCHAR,                     -- username
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (prompt_id, version)
);

-- Reusable context documents (typed text or uploaded txt, md, csv, json, pdf text).
CREATE TABLE context_docs (
    id           VARCHAR PRIMARY KEY,
    workspace_id VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    tags         VARCHAR[] NOT NULL DEFAULT [],
    text         VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,             -- typed | txt | md | csv | json | pdf
    filename     VARCHAR,                      -- the uploaded file's name, if any
    size_bytes   BIGINT,
    content_hash VARCHAR NOT NULL,
    created_by   VARCHAR,
    created_at   TIMESTAMP NOT NULL,
    updated_by   VARCHAR,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, name)
);

-- The prompt version a playground run (or a batch run) was made with, when it was one.
ALTER TABLE runs ADD COLUMN prompt_version_id VARCHAR;
