-- One row per distinct (model_left, model_right, winner) among counted votes before the data cut,
-- with its count: the sufficient statistics of the Bradley-Terry fit. Undated arena rows (no tstamp)
-- cannot be placed before or after a cut and count in every snapshot.
SELECT model_left, model_right, winner, count(*) AS n
FROM votes_counted
WHERE voted_at < $cutoff OR voted_at IS NULL
GROUP BY ALL
ORDER BY ALL
