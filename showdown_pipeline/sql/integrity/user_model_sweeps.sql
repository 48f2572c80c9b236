-- One row per (voter, model) with at least $min_seen sightings among counted votes before the data
-- cut: how many of them the model won outright (not a tie), and the log-probability that an honest
-- voter would hand it every one of them: Σ log P(outright win), with P(outright win) = p − t/2
-- (p from the preliminary ratings in integrity_theta, t the tie share of that pair of models: ties
-- are rarer in lopsided pairs, so one population-wide share would understate a strong model's
-- outright wins), clamped. Counts are integers and the one float sum adds its terms rounded to multiples
-- of 2^-52 as integers (exact in any order; |term| <= 4.61), so the result does not depend on how the
-- warehouse split the work. Run in passes over the voters (core/integrity/run.by_voters: the voters with
-- hash(user_id) % $voter_passes = $voter_pass); the tie shares are every voter's, in every pass.
-- The divisor is cast to UBIGINT, hash's own type: against an INTEGER, DuckDB divides in HUGEINT, which
-- took ten times as long (2 s of each pass at 10M votes).
WITH v AS (
    SELECT c.user_id, c.model_left, c.model_right, c.winner,
        least(c.model_left, c.model_right) AS pair_a, greatest(c.model_left, c.model_right) AS pair_b,
        1.0 / (1.0 + exp(tr.theta - tl.theta)) AS p_left
    FROM votes_clean AS c
    JOIN integrity_theta AS tl ON tl.model_id = c.model_left
    JOIN integrity_theta AS tr ON tr.model_id = c.model_right
    WHERE c.voted_at < $cutoff OR c.voted_at IS NULL
),
tie AS (
    SELECT pair_a, pair_b, count(*) FILTER (WHERE winner IN ('both_good', 'both_bad')) / count(*) AS share
    FROM v
    GROUP BY ALL
),
in_pass AS (
    SELECT * FROM v WHERE hash(user_id) % $voter_passes::UBIGINT = $voter_pass
),
sides AS (
    SELECT v.user_id, v.model_left AS model_id, v.winner = 'left' AS won, v.p_left - tie.share / 2.0 AS p
    FROM in_pass AS v JOIN tie USING (pair_a, pair_b)
    UNION ALL
    SELECT v.user_id, v.model_right AS model_id, v.winner = 'right' AS won, 1.0 - v.p_left - tie.share / 2.0 AS p
    FROM in_pass AS v JOIN tie USING (pair_a, pair_b)
)
SELECT
    user_id,
    model_id,
    count(*) AS seen,
    count(*) FILTER (WHERE won) AS outright_wins,
    sum(round(ln(least(greatest(p, 0.01), 0.99)) * 4503599627370496)::HUGEINT)::DOUBLE / 4503599627370496
        AS log_p_sweep
FROM sides
GROUP BY ALL
HAVING count(*) >= $min_seen
ORDER BY user_id, model_id
