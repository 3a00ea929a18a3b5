-- The outbox of webhook deliveries: written in the same transaction as the event it reports
-- (a stream going live or idle), so a delivery is never lost; the delivery worker retries with
-- backoff until the endpoint answers 2xx or the attempts run out.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    webhook_id       TEXT NOT NULL REFERENCES webhooks(id),
    event            TEXT NOT NULL,
    body             TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    delivered_at     INTEGER,
    failed_at        INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
