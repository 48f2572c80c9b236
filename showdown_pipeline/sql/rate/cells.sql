-- The scorable votes (votes_table_scorable) aggregated into Bradley-Terry cells: one row per
-- (model_left, model_right, winner) with its count.
SELECT model_left, model_right, winner, count(*) AS n
FROM votes_table_scorable
GROUP BY ALL
ORDER BY ALL
