-- One row per (segment value, model_left, model_right, winner) of one segment dimension among counted
-- votes before the data cut. Demographic dimensions use the voter's verified profile (votes of
-- unverified voters count in the overall board only); `language` is the conversation's language.
WITH counted AS (
    SELECT * FROM votes_counted WHERE voted_at < $cutoff OR voted_at IS NULL
),
segmented AS (
    SELECT 'country' AS segment_dim, country AS segment_value, model_left, model_right, winner FROM counted
    UNION ALL
    SELECT 'age_band', age_band, model_left, model_right, winner FROM counted
    UNION ALL
    SELECT 'education', education, model_left, model_right, winner FROM counted
    UNION ALL
    SELECT 'profession', profession, model_left, model_right, winner FROM counted
    UNION ALL
    SELECT 'language', language, model_left, model_right, winner FROM counted
)
SELECT segment_value, model_left, model_right, winner, count(*) AS n
FROM segmented
WHERE segment_dim = $segment_dim AND segment_value IS NOT NULL
GROUP BY ALL
ORDER BY ALL
