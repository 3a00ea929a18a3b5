-- An Edgecast DirPath instance belongs to one (account, environment): the first that had a DirPath
-- in it. Another one's DirPath there is refused, and ingest considers only the owner's DirPaths,
-- so no account can authorize a publish into a path another account's DirPath governs. The
-- primary key makes two concurrent first claims end with one owner. `instance` is lowercased
-- (media servers may match application names without regard to case). Ownership ends, in the
-- same transaction, when the owner's last DirPath in the instance goes.
CREATE TABLE edgecast_instances (
    instance     TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    environment  TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    claimed_at   BIGINT NOT NULL
);

-- Existing DirPaths: each instance goes to the account (and environment) of its earliest-created
-- DirPath; the others' DirPaths there stay stored but are ignored by ingest.
INSERT INTO edgecast_instances (instance, account_id, environment, claimed_at)
SELECT DISTINCT ON (lower(split_part(dir_path, '/', 1)))
       lower(split_part(dir_path, '/', 1)), account_id, environment, created_at
FROM edgecast_stream_keys
WHERE position('/' in dir_path) > 1
ORDER BY lower(split_part(dir_path, '/', 1)), created_at, id;
