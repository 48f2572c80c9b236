-- One row per (voter, model) among counted votes before the data cut: how often the voter saw the
-- model, the model's score in those votes (votes_clean.score: win 1, tie ½) and what the preliminary ratings expect
-- (integrity_theta, registered by the caller), with its variance. A parallel float sum adds in whatever
-- order the threads finish, which moved the last bits from run to run; so each term is rounded to a
-- multiple of 2^-52 and the integers are summed, exactly and in any order (a sum ordered by value, the
-- rule before, cost 4x the statement's time at 10M votes); the scores are sums of halves, exact as they are.
-- Run in passes over the voters (core/integrity/run.by_voters: the voters with
-- hash(user_id) % $voter_passes = $voter_pass), each voter's rows all in one pass.
-- The divisor is cast to UBIGINT, hash's own type: against an INTEGER, DuckDB divides in HUGEINT, which
-- took ten times as long (2 s of each pass at 10M votes).
WITH v AS (
    SELECT c.user_id, c.model_left, c.model_right, c.score,
        1.0 / (1.0 + exp(tr.theta - tl.theta)) AS p_left
    FROM votes_clean AS c
    JOIN integrity_theta AS tl ON tl.model_id = c.model_left
    JOIN integrity_theta AS tr ON tr.model_id = c.model_right
    WHERE (c.voted_at < $cutoff OR c.voted_at IS NULL) AND hash(c.user_id) % $voter_passes::UBIGINT = $voter_pass
),
sides AS (
    SELECT user_id, model_left AS model_id, score, p_left AS expected
    FROM v
    UNION ALL
    SELECT user_id, model_right AS model_id, 1.0 - score AS score, 1.0 - p_left AS expected
    FROM v
)
SELECT user_id, model_id, count(*) AS seen, sum(score)::DOUBLE AS score,
    sum(round(expected * 4503599627370496)::HUGEINT)::DOUBLE / 4503599627370496 AS expected,
    sum(round(expected * (1.0 - expected) * 4503599627370496)::HUGEINT)::DOUBLE / 4503599627370496 AS variance
FROM sides
GROUP BY ALL
HAVING count(*) >= $min_seen
ORDER BY user_id, model_id
