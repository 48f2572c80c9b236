-- The vote ledger entries (votes/ and arena/) whose records are not in votes_checked yet, in delivery order.
SELECT f.sha256 AS source_sha256
FROM landing_files AS f
WHERE f.kind IN ('votes', 'arena')
    AND f.sha256 NOT IN (SELECT v.source_sha256 FROM votes_validated_files AS v)
ORDER BY f.ingest_seq
