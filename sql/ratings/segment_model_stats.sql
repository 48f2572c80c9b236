-- One row per (segment value, model) of one segment dimension: votes, distinct voters, and the
-- largest share of the model's votes there cast by one voter.
WITH counted AS (
    SELECT * FROM votes_counted WHERE voted_at < $cutoff OR voted_at IS NULL
),
segmented AS (
    SELECT 'country' AS segment_dim, country AS segment_value, model_left, model_right, user_id FROM counted
    UNION ALL
    SELECT 'age_band', age_band, model_left, model_right, user_id FROM counted
    UNION ALL
    SELECT 'education', education, model_left, model_right, user_id FROM counted
    UNION ALL
    SELECT 'profession', profession, model_left, model_right, user_id FROM counted
    UNION ALL
    SELECT 'language', language, model_left, model_right, user_id FROM counted
),
sides AS (
    SELECT segment_value, model_left AS model_id, user_id FROM segmented
    WHERE segment_dim = $segment_dim AND segment_value IS NOT NULL
    UNION ALL
    SELECT segment_value, model_right AS model_id, user_id FROM segmented
    WHERE segment_dim = $segment_dim AND segment_value IS NOT NULL
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
