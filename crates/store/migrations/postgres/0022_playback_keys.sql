-- Playback signing keys (Livepeer's access-control signing keys): the public half only, which
-- is all that verifying a playback JWT needs. The private half is handed out once, never kept.
CREATE TABLE playback_keys (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    environment     TEXT NOT NULL,
    name            TEXT NOT NULL,
    -- Base64 of the SPKI PEM, as handed out and as playback JWTs name it (their `pub` claim).
    public_key      TEXT NOT NULL,
    public_key_hash BYTEA NOT NULL UNIQUE,
    disabled        BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT
);
CREATE INDEX playback_keys_scope ON playback_keys(account_id, environment, created_at);
