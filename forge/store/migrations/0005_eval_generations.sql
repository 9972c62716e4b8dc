-- Forge schema, version 5: one row per generation or synthesis over an eval set,
-- keeping the figures of the chosen set as a whole (held-out metrics, the human-human
-- ceiling, the majority-class floor, warnings), which belong to no single eval.
CREATE TABLE eval_generations (
    id           VARCHAR PRIMARY KEY,
    workspace_id VARCHAR NOT NULL,
    eval_set_id  VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,             -- llm | synth | refine
    model        VARCHAR,                      -- the generator model (llm), NULL for synthesis
    status       VARCHAR NOT NULL,             -- done | partial | failed | cancelled
    summary      JSON,                         -- set figures, candidates, warnings, usage
    created_by   VARCHAR,
    created_at   TIMESTAMP NOT NULL
);
