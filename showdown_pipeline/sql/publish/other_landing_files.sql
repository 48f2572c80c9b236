-- The ledger's files that are not votes (contributors, models.csv, unreadable entries), in delivery order:
-- the manifest's other_landing_files.
SELECT path, sha256, kind, status, rows_in, error
FROM landing_files
WHERE kind NOT IN ('votes', 'arena')
ORDER BY ingest_seq
