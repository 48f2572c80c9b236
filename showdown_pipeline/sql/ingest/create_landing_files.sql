-- The ledger of landing files, one row per distinct content (sha256). Re-delivering a file with the
-- same bytes finds its row here and changes nothing. An entry rejected without being read (a symlink
-- out of the root, a FIFO, a symlinked directory, a file over the size limit) has no content hash: its
-- key is 'unread:' + sha256 of (reason, path, link target, file type, size, mtime) (core/landing.py).
-- A file's ledger row commits in the same transaction as its raw rows.
CREATE TABLE IF NOT EXISTS landing_files (
    sha256 VARCHAR PRIMARY KEY,     -- content sha256, or 'unread:<hex>' (see above)
    path VARCHAR NOT NULL,          -- relative to the landing root, as first seen
    kind VARCHAR NOT NULL,          -- votes | contributors | models | arena
    format VARCHAR NOT NULL,        -- jsonl | jsonl.gz | parquet | json | csv
    size_bytes BIGINT NOT NULL,
    landed_at TIMESTAMPTZ NOT NULL, -- file modification time: when it landed
    ingest_seq BIGINT NOT NULL,     -- delivery order, used to break ties between re-exports
    status VARCHAR NOT NULL,        -- ingested | rejected
    rows_in BIGINT NOT NULL,        -- records read (0 for a rejected file: none of its rows count)
    blank_lines BIGINT NOT NULL,
    error VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR
)
