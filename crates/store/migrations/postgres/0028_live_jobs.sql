-- Brightcove Live jobs: an ingest point on this deployment's media server. The stream name the
-- encoder publishes under is a secret: sealed by the vault, found by its SHA-256 (hex). The state
-- follows the media server's hooks; notifications are webhook rows of the brightcove flavor.
CREATE TABLE live_jobs (
    id                 TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts(id),
    environment        TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    state              TEXT NOT NULL
        CHECK (state IN ('waiting', 'processing', 'disconnected', 'finished', 'cancelled')),
    stream_name_hash   TEXT NOT NULL UNIQUE,
    stream_name_sealed TEXT NOT NULL,
    rtmp_credential    TEXT,
    region             TEXT NOT NULL,
    reconnect_time     BIGINT NOT NULL,
    -- JSON: the caller's outputs as given; the notification endpoints [{url, credentials, webhook_id}].
    outputs            TEXT NOT NULL,
    notifications      TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    disconnected_at    BIGINT
);
CREATE INDEX live_jobs_scope ON live_jobs (account_id, environment, created_at, id);
CREATE INDEX live_jobs_disconnected ON live_jobs (disconnected_at) WHERE state = 'disconnected';

-- What the media server recorded of a job (nginx-rtmp's on_record_done), in object storage.
CREATE TABLE live_job_recordings (
    id           TEXT PRIMARY KEY,
    job_id       TEXT NOT NULL REFERENCES live_jobs(id),
    account_id   TEXT NOT NULL,
    environment  TEXT NOT NULL,
    object_key   TEXT NOT NULL,
    bytes        BIGINT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    began_at     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX live_job_recordings_job ON live_job_recordings (job_id, created_at);

-- Each output of a clip request (POST /v1/vods; Brightcove's VOD job, jvod_id): a window of a
-- recording delivered to one destination, retried with backoff until delivered or given up.
CREATE TABLE clip_outputs (
    id               TEXT PRIMARY KEY,
    vod_id           TEXT NOT NULL,
    job_id           TEXT NOT NULL REFERENCES live_jobs(id),
    account_id       TEXT NOT NULL,
    environment      TEXT NOT NULL,
    recording_id     TEXT NOT NULL REFERENCES live_job_recordings(id),
    label            TEXT NOT NULL,
    url              TEXT NOT NULL,
    credential_label TEXT NOT NULL,
    -- JSON: {"duration": s} or {"start_time": s, "end_time": s}.
    clip_window      TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('waiting', 'finished', 'failed')),
    error            TEXT,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    bytes            BIGINT,
    -- JSON: the endpoints told of its outcome [{url, credentials, webhook_id}].
    notifications    TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX clip_outputs_vod ON clip_outputs (vod_id, created_at);
CREATE INDEX clip_outputs_due ON clip_outputs (next_attempt_at) WHERE state = 'waiting';
