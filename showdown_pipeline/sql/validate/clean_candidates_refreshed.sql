-- A night: the checked records of clean_refresh are the candidates for votes_clean (votes_clean_batch.sql).
CREATE OR REPLACE TEMP VIEW clean_candidates AS
SELECT * FROM votes_checked
WHERE row_key IN (SELECT r.row_key FROM clean_refresh AS r)
