-- One row per model among counted votes before the data cut: votes it appears in, distinct voters,
-- and the largest share of its votes cast by a single voter.
WITH sides AS (
    SELECT model_left AS model_id, user_id FROM votes_counted WHERE voted_at < $cutoff OR voted_at IS NULL
    UNION ALL
    SELECT model_right AS model_id, user_id FROM votes_counted WHERE voted_at < $cutoff OR voted_at IS NULL
),
per_user AS (
    SELECT model_id, user_id, count(*) AS n FROM sides GROUP BY ALL
)
SELECT
    model_id,
    sum(n)::BIGINT AS votes,
    count(*)::BIGINT AS users,
    max(n) / sum(n) AS top_user_share
FROM per_user
GROUP BY model_id
ORDER BY model_id
