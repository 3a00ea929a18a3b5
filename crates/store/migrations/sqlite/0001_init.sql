-- Times are integer milliseconds since the Unix epoch; ids are UUID text.
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    number      TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at    INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    name            TEXT NOT NULL,
    environment     TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    prefix          TEXT NOT NULL,
    secret_hash     BLOB NOT NULL UNIQUE,
    allowed_origins TEXT NOT NULL,
    full_access     BOOLEAN NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    expires_at      INTEGER,
    revoked_at      INTEGER
);
CREATE INDEX api_keys_account ON api_keys(account_id, created_at);

-- Every change that must reach other instances' caches (revoke, expiry change, create).
CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    key_hash    BLOB,
    at          INTEGER NOT NULL
);
