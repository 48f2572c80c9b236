-- Rows of a ledger made before reads were told apart: their key is the content hash (or 'unread:'). Touches
-- nothing on a ledger already filled.
UPDATE landing_files
SET content_sha256 = sha256
WHERE content_sha256 IS NULL AND NOT starts_with(sha256, 'unread:')
