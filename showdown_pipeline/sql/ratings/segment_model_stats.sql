-- One row per (segment value, model) of one segment dimension among counted votes before the data
-- cut: votes, distinct voters, and the largest share of the model's votes there cast by one voter.
WITH segment AS (
    SELECT segment_value, model_left, model_right, user_id
    FROM segmented_votes
    WHERE segment_dim = $segment_dim AND segment_value IS NOT NULL
        AND (voted_at < $cutoff OR voted_at IS NULL)
),
sides AS (
    SELECT segment_value, model_left AS model_id, user_id FROM segment
    UNION ALL
    SELECT segment_value, model_right AS model_id, user_id FROM segment
),
per_user AS (
    SELECT segment_value, model_id, user_id, count(*) AS n FROM sides GROUP BY ALL
)
SELECT
    segment_value,
    model_id,
    sum(n)::BIGINT AS votes,
    count(*)::BIGINT AS users,
    max(n) / sum(n) AS top_user_share
FROM per_user
GROUP BY ALL
ORDER BY ALL
