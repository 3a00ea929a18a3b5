-- api.video lists streams by `sortBy=updatedAt` too: the scope's live streams in that order, so a
-- page sorted by update walks an index like the others instead of sorting the scope.
CREATE INDEX streams_live_scope_updated ON streams (account_id, environment, updated_at, id)
    WHERE deleted_at IS NULL;
