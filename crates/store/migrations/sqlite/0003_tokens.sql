-- Ed25519 keys that sign access tokens. The private half is sealed by the vault. The newest
-- unretired key signs; every key not yet past retired_at + token lifetime still verifies.
CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    public_key     BLOB NOT NULL,
    private_sealed TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    retired_at     INTEGER
);

-- Opaque refresh tokens, stored as SHA-256 only. Single use: a use rotates it within its family;
-- a second use of the same token revokes the whole family (RFC 9700 section 4.14).
CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL,
    api_key_id  TEXT NOT NULL REFERENCES api_keys(id),
    token_hash  BLOB NOT NULL UNIQUE,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_key ON refresh_tokens(api_key_id);

-- Append-only record of security-relevant decisions. Never holds a secret.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    account_id  TEXT,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    object      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX audit_events_account ON audit_events(account_id, at);
