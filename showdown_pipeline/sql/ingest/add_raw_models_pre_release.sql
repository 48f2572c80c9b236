-- A warehouse made before models.csv could carry the optional pre_release column gets it (old rows stay
-- NULL: their file had no such column). Idempotent.
ALTER TABLE raw_models ADD COLUMN IF NOT EXISTS pre_release VARCHAR
