-- What a key may do and how much: explicit permissions (JSON array; NULL: the preset its CORS
-- settings imply), its own rate limit, credits with an optional refill, and caller metadata.
ALTER TABLE api_keys ADD COLUMN permissions TEXT;
ALTER TABLE api_keys ADD COLUMN ratelimit_limit BIGINT;
ALTER TABLE api_keys ADD COLUMN ratelimit_duration_ms BIGINT;
ALTER TABLE api_keys ADD COLUMN credits_remaining BIGINT;
ALTER TABLE api_keys ADD COLUMN credits_refill_interval TEXT;
ALTER TABLE api_keys ADD COLUMN credits_refill_amount BIGINT;
ALTER TABLE api_keys ADD COLUMN credits_refilled_at BIGINT;
ALTER TABLE api_keys ADD COLUMN meta TEXT;
