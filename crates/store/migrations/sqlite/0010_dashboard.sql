-- Dashboard sign-in sessions: the cookie holds a random token, the store only its SHA-256.
CREATE TABLE dashboard_sessions (
    id_hash      BLOB PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    csrf         TEXT NOT NULL,
    environment  TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX dashboard_sessions_user ON dashboard_sessions(user_id);

-- Failed sign-ins per user name (known or not), for lockout.
CREATE TABLE login_attempts (
    username      TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    locked_until  INTEGER
);

-- Per-key request and auth-failure counts per minute, added to in batches by the usage flusher.
CREATE TABLE usage_counts (
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    key_id      TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('request', 'auth_failure')),
    bucket      INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (key_id, kind, bucket)
);
CREATE INDEX usage_counts_account ON usage_counts(account_id, bucket);
