-- Every models.csv the ledger holds, in the order the landing zone held them: by the latest run that found
-- each one there (seen_seq; a revert to bytes delivered before is the latest again), rows of a ledger made
-- before sightings were kept first, in delivery order. The latest ingested one is in force
-- (model_registry.sql reads the same order); those rejected after it are reported (core/registry.py).
SELECT path, sha256, status, error, ingest_seq, landed_at
FROM landing_files
WHERE kind = 'models'
ORDER BY seen_seq ASC NULLS FIRST, ingest_seq ASC
