-- Live streams, their publish sessions and multistream targets. Every object carries the account
-- and environment of the key that created it; every lookup is scoped by both.
CREATE TABLE streams (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    environment   TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    name          TEXT NOT NULL,
    -- The stream key: looked up by its SHA-256, kept encrypted (vault) so it can be shown again.
    key_hash      BLOB NOT NULL UNIQUE,
    key_sealed    TEXT NOT NULL,
    playback_id   TEXT NOT NULL UNIQUE,
    record        BOOLEAN NOT NULL,
    suspended     BOOLEAN NOT NULL,
    is_active     BOOLEAN NOT NULL,
    -- JSON: profiles, multistream targets, user tags and the other settings the API round-trips.
    settings      TEXT NOT NULL,
    created_by    TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    last_seen_at  INTEGER,
    deleted_at    INTEGER
);
CREATE INDEX streams_scope ON streams(account_id, environment, created_at, id);

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    stream_id     TEXT NOT NULL REFERENCES streams(id),
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    environment   TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    ingest        TEXT NOT NULL,
    client_addr   TEXT,
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER
);
CREATE INDEX sessions_stream ON sessions(stream_id, started_at);

CREATE TABLE multistream_targets (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    environment   TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    name          TEXT NOT NULL,
    -- Write-only over the API; encrypted at rest.
    url_sealed    TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL,
    created_at    INTEGER NOT NULL,
    deleted_at    INTEGER
);
CREATE INDEX multistream_targets_scope ON multistream_targets(account_id, environment, created_at, id);
