-- The environment an audit event belongs to (NULL: account-wide, like an account's creation), so
-- a sandbox key never reads production's events.
ALTER TABLE audit_events ADD COLUMN environment TEXT;
