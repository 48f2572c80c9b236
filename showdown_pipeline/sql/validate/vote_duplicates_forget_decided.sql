-- The old outcome of every record decided again goes; vote_duplicates_insert.sql writes the new one.
DELETE FROM vote_duplicates WHERE row_key IN (SELECT d.row_key FROM dedupe_decided AS d)
