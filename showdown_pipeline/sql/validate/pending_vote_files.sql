-- The ingested vote ledger entries (votes/ and arena/) whose records are not in votes_checked yet, in delivery
-- order. A rejected entry has no records and is never recorded as validated: a rejection dropped when a raised
-- limit lets the same bytes in (ingest/landing_file_forget.sql) comes back under its key as ingested, and is read.
SELECT f.sha256 AS source_sha256
FROM landing_files AS f
WHERE f.kind IN ('votes', 'arena') AND f.status = 'ingested'
    AND f.sha256 NOT IN (SELECT v.source_sha256 FROM votes_validated_files AS v)
ORDER BY f.ingest_seq
