-- Brightcove Live job notifications are webhooks of their own flavor (`brightcove`): the outbox
-- delivers them like any other, but no dialect lists them as its webhooks.
ALTER TABLE webhooks DROP CONSTRAINT IF EXISTS webhooks_flavor_check;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_flavor_check
    CHECK (flavor IN ('apivideo', 'livepeer', 'brightcove'));
