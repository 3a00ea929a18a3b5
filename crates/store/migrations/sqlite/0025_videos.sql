-- Videos (api.video's /videos, Livepeer's assets): the source is stored as it came, in object
-- storage under videos/<id>/source/<start>.<attempt>, one object per uploaded part (`parts`). The row says how much
-- has arrived and whether the whole source is there. The upload or import is the video's task
-- (Livepeer's /api/task/{id}). A one-time upload URL (Livepeer's request-upload) is kept only as
-- the SHA-256 of its token, and cleared when it is used.
CREATE TABLE videos (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts(id),
    environment       TEXT NOT NULL,
    title             TEXT NOT NULL,
    description       TEXT NOT NULL,
    -- JSON arrays: tags ["a","b"], metadata [["key","value"], ...].
    tags              TEXT NOT NULL,
    metadata          TEXT NOT NULL,
    public            BOOLEAN NOT NULL,
    -- The private token of a private video's URLs, sealed by the vault.
    private_sealed    TEXT NOT NULL,
    playback_id       TEXT NOT NULL UNIQUE,
    phase             TEXT NOT NULL,
    source_url        TEXT,
    received          INTEGER NOT NULL,
    total             INTEGER,
    -- JSON: the stored parts in order, [{start, size, key}]: what is served.
    parts             TEXT NOT NULL,
    task_id           TEXT NOT NULL UNIQUE,
    error             TEXT,
    upload_hash       TEXT UNIQUE,
    -- A chunked upload with an upload token whose chunks do not name the video (the clients'
    -- `part k/N` uploads): the SHA-256 of (token, N, file name) finds the video chunk 1 made.
    chunk_key         TEXT,
    upload_expires_at INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    deleted_at        INTEGER
);
CREATE INDEX videos_chunk_key ON videos (chunk_key);
CREATE INDEX videos_scope_created ON videos (account_id, environment, created_at, id);
