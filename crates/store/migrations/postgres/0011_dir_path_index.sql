-- Ingest looks stream keys up by the DirPath's instance (its first segment) with a bytewise range
-- (dir_path >= 'live/' AND dir_path < 'live0' in the "C" collation), which this index serves.
CREATE INDEX edgecast_stream_keys_dir_path ON edgecast_stream_keys (dir_path COLLATE "C");
