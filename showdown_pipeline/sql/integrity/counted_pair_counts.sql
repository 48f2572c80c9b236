-- Bradley-Terry cells of the votes that count after the integrity exclusions, before the data cut.
SELECT model_left, model_right, winner, count(*) AS n
FROM votes_counted
WHERE voted_at < $cutoff OR voted_at IS NULL
GROUP BY ALL
ORDER BY ALL
