-- One row per (voter, model) with at least $min_seen sightings among counted votes before the data
-- cut: how many of them the model won outright (not a tie), and the log-probability that an honest
-- voter would hand it every one of them: Σ log P(outright win), with P(outright win) = p − t/2
-- (p from the preliminary ratings in integrity_theta, t the population's tie share), clamped.
WITH v AS (
    SELECT c.user_id, c.model_left, c.model_right, c.winner,
        1.0 / (1.0 + exp(tr.theta - tl.theta)) AS p_left
    FROM votes_clean AS c
    JOIN integrity_theta AS tl ON tl.model_id = c.model_left
    JOIN integrity_theta AS tr ON tr.model_id = c.model_right
    WHERE c.voted_at < $cutoff OR c.voted_at IS NULL
),
tie AS (
    SELECT avg(CASE WHEN winner IN ('both_good', 'both_bad') THEN 1.0 ELSE 0.0 END) AS share FROM v
),
sides AS (
    SELECT user_id, model_left AS model_id, winner = 'left' AS won, p_left AS p FROM v
    UNION ALL
    SELECT user_id, model_right AS model_id, winner = 'right' AS won, 1.0 - p_left AS p FROM v
)
SELECT
    user_id,
    model_id,
    count(*) AS seen,
    count(*) FILTER (WHERE won) AS outright_wins,
    sum(ln(least(greatest(p - (SELECT share FROM tie) / 2.0, 0.01), 0.99)))::DOUBLE AS log_p_sweep
FROM sides
GROUP BY ALL
HAVING count(*) >= $min_seen
