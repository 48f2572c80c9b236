-- A warehouse made before raw_votes recorded the JSON type of its string fields gets the column (its
-- old rows stay NULL: read before the rule existed). Idempotent.
ALTER TABLE raw_votes ADD COLUMN IF NOT EXISTS json_types VARCHAR
