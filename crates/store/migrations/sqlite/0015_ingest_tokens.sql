-- Ingest tokens: what media servers present to the ingest hooks. Only the SHA-256 of the secret.
CREATE TABLE ingest_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    secret_hash  BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
