-- A session remembers whether its stream was recorded when it started (Livepeer's `record` on a
-- session, and the filter of `GET /api/stream/{id}/sessions?record=`); sessions before this one
-- did not say, and read as not recorded.
ALTER TABLE sessions ADD COLUMN record BOOLEAN NOT NULL DEFAULT FALSE;
-- The account's sessions newest first (`GET /api/session`), on an index rather than a sort.
CREATE INDEX sessions_scope ON sessions (account_id, environment, started_at, id);
