-- Edgecast DCP stream keys, with integer ids as the platform's API shows them. Ids are chosen at
-- random by the service so the sealed key (whose AAD names its row) is written by one INSERT.
-- The ingest hooks find a key by its DirPath, then compare the presented key.
CREATE TABLE edgecast_stream_keys (
    id           INTEGER PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    environment  TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    dir_path     TEXT NOT NULL,
    key_sealed   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (account_id, environment, dir_path)
);

-- One global live authentication key per account (and environment).
CREATE TABLE edgecast_global_keys (
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    environment  TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    key_sealed   TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (account_id, environment)
);
