-- Lists read live streams only, and a deleted stream is kept (soft-deleted): with the deleted
-- ones in the scope's indexes, a list of a scope whose streams come and go scanned past every
-- stream it ever had (bench/soak.sh's lists slowed as its deleted streams piled up). The scope's
-- indexes now hold its live streams alone; every scoped query of streams asks for
-- `deleted_at IS NULL`, which is what lets the planner use them.
DROP INDEX streams_scope;
DROP INDEX streams_scope_name;
CREATE INDEX streams_live_scope ON streams (account_id, environment, created_at, id)
    WHERE deleted_at IS NULL;
CREATE INDEX streams_live_scope_name ON streams (account_id, environment, name, created_at, id)
    WHERE deleted_at IS NULL;

-- A publish ending closes its stream's open session: found on an index of open sessions alone,
-- not by reading every session the stream ever had (the soak's publishes slowed as they piled
-- up on its four streams).
CREATE INDEX sessions_open ON sessions (stream_id) WHERE ended_at IS NULL;
