-- Forge schema, version 10: an API token may expire.
--
-- NULL means "never" (every token made before this version). A token past its
-- expiry is refused like a revoked one (forge.tokens.user_for_token).
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMP;
