-- Delegated upload tokens (api.video): an identifier the API lists, valid until expires_at.
CREATE TABLE upload_tokens (
    token        TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    environment  TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    ttl          BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    deleted_at   BIGINT
);
CREATE INDEX upload_tokens_scope ON upload_tokens(account_id, environment, created_at);

-- Outgoing webhooks. The signing secret is sealed by the vault.
CREATE TABLE webhooks (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    environment    TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    url            TEXT NOT NULL,
    events         TEXT NOT NULL,
    secret_sealed  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    deleted_at     BIGINT
);
CREATE INDEX webhooks_scope ON webhooks(account_id, environment, created_at);
