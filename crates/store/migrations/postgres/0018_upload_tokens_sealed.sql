-- Upload tokens are credentials: kept as a SHA-256 (hex) for lookup and sealed by the vault (AAD:
-- upload_tokens / token_hash / token) for listing back to their owner, never in clear.
-- Tokens made before this migration wait in upload_tokens_plain: SQL cannot seal, so the server
-- moves them at its next start, before it serves (Services::seal_plain_upload_tokens).
ALTER TABLE upload_tokens RENAME TO upload_tokens_plain;
ALTER INDEX upload_tokens_pkey RENAME TO upload_tokens_plain_pkey;
DROP INDEX upload_tokens_scope;
CREATE TABLE upload_tokens (
    token_hash    TEXT PRIMARY KEY,
    token_sealed  TEXT NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    environment   TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    ttl           BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    deleted_at    BIGINT
);
CREATE INDEX upload_tokens_scope ON upload_tokens(account_id, environment, created_at);
