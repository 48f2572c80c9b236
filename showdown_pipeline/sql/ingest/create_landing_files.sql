-- The ledger of landing files, one row per read: some bytes (content_sha256) read as one kind and format.
-- Delivering the same bytes again under any name finds its row here and changes nothing; the same bytes
-- under another kind or format (a vote file moved out of contributors/, a .json renamed .jsonl) are another
-- read. Key (`sha256`): the content sha256 for the first read of those bytes (every ledger made before
-- reads were told apart holds only such keys), 'r' || sha256('read', kind, format, content) for a later read
-- of the same bytes, or for a first read whose content hash is already a key (core/landing.read_key; never
-- lowercase hex, so no file's hash can take it; older ledgers hold such keys without the 'r'). An entry
-- rejected without being read (a symlink out of the root, a FIFO, a symlinked directory, an unsupported
-- extension, a name that is not UTF-8, a file over the size limit) has no content: its key is 'unread:' +
-- sha256 of (reason, path, link target, size, mtime).
-- A file's ledger row commits in the same transaction as its raw rows. Columns added later are appended by
-- the add_landing_files_* statements, so old and new ledgers have one column order.
CREATE TABLE IF NOT EXISTS landing_files (
    sha256 VARCHAR PRIMARY KEY,     -- the ledger key (see above); raw tables' source_sha256 refers to it
    path VARCHAR NOT NULL,          -- relative to the landing root, as first seen (bytes not UTF-8 as \xNN)
    kind VARCHAR NOT NULL,          -- votes | contributors | models | arena
    format VARCHAR NOT NULL,        -- jsonl | jsonl.gz | parquet | json | csv (or the unsupported extension)
    size_bytes BIGINT NOT NULL,
    landed_at TIMESTAMPTZ NOT NULL, -- file modification time: when it landed
    ingest_seq BIGINT NOT NULL,     -- delivery order, used to break ties between re-exports
    status VARCHAR NOT NULL,        -- ingested | rejected
    rows_in BIGINT NOT NULL,        -- records read (0 for a rejected file: none of its rows count)
    blank_lines BIGINT NOT NULL,
    error VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR,
    content_sha256 VARCHAR,         -- sha256 of the bytes read (NULL for an entry rejected unread)
    seen_seq BIGINT                 -- models.csv only: order of the latest run that found it in the landing zone
)
