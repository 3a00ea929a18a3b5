-- Rate-limit counts per key, window and instance, so several instances on one store hold one
-- limit: each writes its own count about twice a second and reads the others'.
CREATE TABLE ratelimit_counts (
    key_id       TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    instance     TEXT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (key_id, window_start, instance)
);
