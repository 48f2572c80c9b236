-- One row per ordered model pair among counted votes before the data cut: battles between them and
-- the row model's score (votes_clean.score: win 1, tie ½) against the column model, whichever side
-- it was shown on.
WITH counted AS (
    SELECT model_left, model_right, score FROM votes_counted WHERE voted_at < $cutoff OR voted_at IS NULL
),
oriented AS (
    SELECT model_left AS model, model_right AS opponent, score
    FROM counted
    UNION ALL
    SELECT model_right AS model, model_left AS opponent, 1.0 - score AS score
    FROM counted
)
SELECT model, opponent, count(*) AS battles, avg(score) AS win_rate
FROM oriented
GROUP BY ALL
ORDER BY ALL
