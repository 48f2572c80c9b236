-- How many votes count (the integrity summary's votes_counted): votes_clean minus integrity_exclusions
-- (vote_exclusions to be, registered by the caller), over the whole table like votes_counted.sql.
SELECT count(*) AS votes
FROM votes_clean AS v
WHERE NOT EXISTS (SELECT 1 FROM integrity_exclusions AS e WHERE e.row_key = v.row_key)
