-- One row per (voter, model) among counted votes before the data cut: how often the voter saw the
-- model, the model's score in those votes (votes_clean.score: win 1, tie ½) and what the preliminary ratings expect
-- (integrity_theta, registered by the caller), with its variance. Float sums run in the order of their
-- values (ORDER BY inside the aggregate): a parallel sum adds in whatever order the threads finish, which
-- moved the last bits from run to run; the scores are sums of halves, exact in any order.
WITH v AS (
    SELECT c.user_id, c.model_left, c.model_right, c.score,
        1.0 / (1.0 + exp(tr.theta - tl.theta)) AS p_left
    FROM votes_clean AS c
    JOIN integrity_theta AS tl ON tl.model_id = c.model_left
    JOIN integrity_theta AS tr ON tr.model_id = c.model_right
    WHERE c.voted_at < $cutoff OR c.voted_at IS NULL
),
sides AS (
    SELECT user_id, model_left AS model_id, score, p_left AS expected
    FROM v
    UNION ALL
    SELECT user_id, model_right AS model_id, 1.0 - score AS score, 1.0 - p_left AS expected
    FROM v
)
SELECT user_id, model_id, count(*) AS seen, sum(score)::DOUBLE AS score,
    sum(expected ORDER BY expected)::DOUBLE AS expected,
    sum(expected * (1.0 - expected) ORDER BY expected)::DOUBLE AS variance
FROM sides
GROUP BY ALL
HAVING count(*) >= $min_seen
ORDER BY user_id, model_id
