-- An audit table made before notes existed gets the column (NULL: an export audited when it was published).
ALTER TABLE export_audit ADD COLUMN IF NOT EXISTS note VARCHAR
