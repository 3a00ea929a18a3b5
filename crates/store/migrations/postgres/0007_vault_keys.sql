-- The vault's keyring. Number 1 is the master key itself: its row holds only a canary that proves,
-- at every start, that the configured master key is the one the data was sealed with. Numbers 2,
-- 3, … are data keys added by `vault rotate`, stored wrapped (sealed by the master key).
CREATE TABLE vault_keys (
    number      BIGINT PRIMARY KEY,
    wrapped     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
