-- Times are integer milliseconds since the Unix epoch; ids are UUID text, as on SQLite.
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    number      TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at    BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    name            TEXT NOT NULL,
    environment     TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    prefix          TEXT NOT NULL,
    secret_hash     BYTEA NOT NULL UNIQUE,
    allowed_origins TEXT NOT NULL,
    full_access     BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT,
    expires_at      BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX api_keys_account ON api_keys(account_id, created_at);

-- Writers take an exclusive lock on this table inside their transaction, so sequence numbers
-- become visible in order and a follower reading `seq > last` can never skip one.
CREATE TABLE changes (
    seq         BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    key_hash    BYTEA,
    at          BIGINT NOT NULL
);
