-- Full rebuild: every checked record is a candidate for votes_clean (votes_clean_batch.sql).
CREATE OR REPLACE TEMP VIEW clean_candidates AS
SELECT * FROM votes_checked
