-- Bradley-Terry cells of all valid, deduplicated votes before the data cut (integrity exclusions not
-- yet applied): the preliminary ratings the favouritism checks compare against.
SELECT model_left, model_right, winner, count(*) AS n
FROM votes_clean
WHERE voted_at < $cutoff OR voted_at IS NULL
GROUP BY ALL
ORDER BY ALL
