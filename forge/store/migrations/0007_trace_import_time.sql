-- Forge schema, version 7: traces without their own timestamp, model names.
--
-- A trace whose source had no timestamp gets its import time, flagged so the
-- app can say "imported at ..." instead of passing it off as the trace's time
-- (before, such rows sorted last under both "newest" and "oldest").
ALTER TABLE traces ADD COLUMN timestamp_imputed BOOLEAN DEFAULT FALSE;
UPDATE traces SET timestamp = imported_at, timestamp_imputed = TRUE WHERE timestamp IS NULL;

-- Step models as the catalog names them (provider/model): "gpt-4o-mini" and
-- "openai/gpt-4o-mini" are one model in the filter. Same rule as
-- forge.store.traces.catalog_model_name.
UPDATE traces SET models = list_distinct(list_transform(models, lambda m:
    CASE
        WHEN contains(m, '/') THEN m
        WHEN regexp_matches(lower(m), '^(gpt-|chatgpt-|o[1-9]($|-)|text-|davinci|babbage|ft:gpt|omni-moderation)')
            THEN 'openai/' || m
        WHEN starts_with(lower(m), 'claude') THEN 'anthropic/' || m
        ELSE m
    END))
WHERE len(models) > 0;
