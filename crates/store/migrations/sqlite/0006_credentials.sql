-- Brightcove Live credentials. The private half is sealed by the vault; labels are unique per
-- account; at most one default per account and type (the service clears the others in the same
-- transaction; the partial unique index makes a violation impossible).
CREATE TABLE credentials (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts(id),
    environment       TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    user_id           TEXT,
    label             TEXT NOT NULL,
    kind              TEXT NOT NULL,
    public_value      TEXT NOT NULL,
    private_sealed    TEXT NOT NULL,
    default_for_type  BOOLEAN NOT NULL,
    token_url         TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (account_id, environment, label)
);
CREATE UNIQUE INDEX credentials_one_default ON credentials(account_id, environment, kind) WHERE default_for_type;
