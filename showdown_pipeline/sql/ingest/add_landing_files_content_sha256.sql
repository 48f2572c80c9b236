-- A ledger made before reads were told apart gets the content column (filled by
-- fill_landing_files_content_sha256.sql: its keys were all content hashes). Idempotent.
ALTER TABLE landing_files ADD COLUMN IF NOT EXISTS content_sha256 VARCHAR
