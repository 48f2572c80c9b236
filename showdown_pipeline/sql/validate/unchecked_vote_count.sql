-- Counted votes waiting for the Great Expectations suite (still in votes_clean).
SELECT count(*) AS n FROM votes_clean WHERE row_key IN (SELECT u.row_key FROM votes_clean_unchecked AS u)
