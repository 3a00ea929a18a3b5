-- Ingest tokens: what media servers present to the ingest hooks. Only the SHA-256 of the secret.
CREATE TABLE ingest_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    secret_hash  BYTEA NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
