-- Bradley-Terry cells of the votes that count after the integrity exclusions, before the data cut:
-- votes_clean minus integrity_exclusions (vote_exclusions to be, registered by the caller), the rule of
-- votes_counted.sql. Their sum is the integrity summary's votes_counted (core/integrity/run.py).
SELECT model_left, model_right, winner, count(*) AS n
FROM votes_clean AS v
WHERE (v.voted_at < $cutoff OR v.voted_at IS NULL)
    AND NOT EXISTS (SELECT 1 FROM integrity_exclusions AS e WHERE e.row_key = v.row_key)
GROUP BY ALL
ORDER BY ALL
