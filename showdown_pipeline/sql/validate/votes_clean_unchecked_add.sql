-- The batch of votes_clean written by this run waits for the suite (create_votes_clean_unchecked.sql).
INSERT INTO votes_clean_unchecked SELECT row_key FROM votes_clean_batch
