-- Every models.csv delivery in the ledger, in delivery order: which one is in force (the latest
-- ingested; model_registry.sql reads it) and which were rejected after it (core/registry.py).
SELECT path, sha256, status, error, ingest_seq, landed_at
FROM landing_files
WHERE kind = 'models'
ORDER BY ingest_seq
