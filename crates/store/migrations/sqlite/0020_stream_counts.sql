-- Live (not deleted) streams per scope, kept in the transaction of every insert and delete, so
-- a list's total is one row's read at any size. Filtered lists count on the name index.
CREATE TABLE stream_counts (
    account_id  TEXT NOT NULL,
    environment TEXT NOT NULL,
    live        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, environment)
);
INSERT INTO stream_counts (account_id, environment, live)
    SELECT account_id, environment, COUNT(*) FROM streams WHERE deleted_at IS NULL
    GROUP BY account_id, environment;
CREATE INDEX streams_scope_name ON streams (account_id, environment, name, created_at, id);
