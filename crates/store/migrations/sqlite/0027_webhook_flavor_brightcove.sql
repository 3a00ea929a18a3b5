-- Brightcove Live job notifications are webhooks of their own flavor (`brightcove`): the outbox
-- delivers them like any other, but no dialect lists them as its webhooks. SQLite cannot change a
-- CHECK constraint in place, so the table is rebuilt (SQLite's documented procedure; migrations
-- run with foreign keys off, and are checked after: `sqlite::migrate`).
CREATE TABLE webhooks_new (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    environment      TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    url              TEXT NOT NULL,
    events           TEXT NOT NULL,
    secret_sealed    TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    deleted_at       INTEGER,
    credential_label TEXT,
    flavor           TEXT NOT NULL DEFAULT 'apivideo'
        CHECK (flavor IN ('apivideo', 'livepeer', 'brightcove')),
    name             TEXT,
    stream_id        TEXT
);
INSERT INTO webhooks_new (id, account_id, environment, url, events, secret_sealed, created_at,
                          deleted_at, credential_label, flavor, name, stream_id)
    SELECT id, account_id, environment, url, events, secret_sealed, created_at,
           deleted_at, credential_label, flavor, name, stream_id FROM webhooks;
DROP TABLE webhooks;
ALTER TABLE webhooks_new RENAME TO webhooks;
CREATE INDEX webhooks_scope ON webhooks(account_id, environment, created_at);
CREATE INDEX webhooks_scope_flavor ON webhooks(account_id, environment, flavor, created_at);
