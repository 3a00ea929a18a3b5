-- Dashboard sign-in attempts per (user name, client address), replacing the per-name failure
-- count: a stranger's guesses lock only the stranger's own address. `attempts` counts attempts
-- since the last success (each counted, in one statement, before its password is checked);
-- `locked_until` is when the pair may try again. Rows whose last attempt is old are pruned.
DROP TABLE login_attempts;
CREATE TABLE sign_in_attempts (
    username      TEXT NOT NULL,
    client        TEXT NOT NULL,
    attempts      BIGINT NOT NULL,
    locked_until  BIGINT NOT NULL,
    last_at       BIGINT NOT NULL,
    PRIMARY KEY (username, client)
);
CREATE INDEX sign_in_attempts_last_at ON sign_in_attempts(last_at);
