-- A ledger made before the registry followed the landing zone gets the sighting column (its models.csv rows
-- stay NULL, ordered by ingest_seq before every later sighting). Idempotent.
ALTER TABLE landing_files ADD COLUMN IF NOT EXISTS seen_seq BIGINT
