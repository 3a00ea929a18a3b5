-- A webhook belongs to one platform's API (its flavor): api.video's `/webhooks` or Livepeer's
-- `/api/webhook`. Each dialect lists and serves only its own, since their events, payloads and
-- signatures differ. Those made before this one are api.video's.
ALTER TABLE webhooks ADD COLUMN flavor TEXT NOT NULL DEFAULT 'apivideo'
    CHECK (flavor IN ('apivideo', 'livepeer'));
-- Livepeer's `name` (api.video's webhooks have none) and `streamId` (only that stream's events).
ALTER TABLE webhooks ADD COLUMN name TEXT;
ALTER TABLE webhooks ADD COLUMN stream_id TEXT;
-- A dialect's list: the scope's webhooks of one flavor, oldest first.
CREATE INDEX webhooks_scope_flavor ON webhooks(account_id, environment, flavor, created_at);
