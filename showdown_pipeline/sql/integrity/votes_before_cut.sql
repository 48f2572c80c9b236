-- How many valid votes integrity reads (those before the data cut): core/integrity/run.voter_passes splits the
-- (voter, model) statements into passes by it.
SELECT count(*) AS votes FROM votes_clean WHERE voted_at < $cutoff OR voted_at IS NULL
