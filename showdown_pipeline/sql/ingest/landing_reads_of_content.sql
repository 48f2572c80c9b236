-- Every read of these bytes in the ledger: (key, kind, format) and its (status, rows_in, error), oldest first.
SELECT sha256, kind, format, status, rows_in, error
FROM landing_files
WHERE content_sha256 = $content_sha256
ORDER BY ingest_seq
