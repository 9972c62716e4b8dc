-- Forge schema, version 8: revocable login sessions and a per-client login throttle.
--
-- A login cookie carries its user's session generation; logging out, a password
-- change or reset, disabling and a role change add one, so every cookie and open
-- session from before stops working (forge.auth.end_sessions).
ALTER TABLE users ADD COLUMN session_generation BIGINT DEFAULT 0;
UPDATE users SET session_generation = 0;

-- Failed logins by client (a remote address), whatever name was tried: a client
-- with too many is refused before any password check, so one client cannot lock
-- every account by guessing names (forge.auth.authenticate).
CREATE TABLE login_client_failures (
    client       VARCHAR NOT NULL,
    attempted_at TIMESTAMP NOT NULL
);
CREATE INDEX login_client_failures_client ON login_client_failures (client);
