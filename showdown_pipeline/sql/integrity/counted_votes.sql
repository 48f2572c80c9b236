-- How many votes count at the run's cut (the integrity summary's votes_counted): valid votes before
-- the cut (votes_clean) minus integrity_exclusions (vote_exclusions to be, registered by the caller), the
-- votes the boards of this cut are fitted on.
SELECT count(*) AS votes
FROM votes_clean AS v
WHERE (v.voted_at < $cutoff OR v.voted_at IS NULL)
    AND NOT EXISTS (SELECT 1 FROM integrity_exclusions AS e WHERE e.row_key = v.row_key)
