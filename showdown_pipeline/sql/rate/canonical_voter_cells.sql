-- The scorable votes of a canonical table split by voter (`user_id`), for the voter-clustered
-- sandwich: one row per (voter, models, winner) with its count. Voters are integer codes; a row
-- without a user_id is a voter of its own. Models are positions in $models (canonical_models.sql),
-- the winner a score.
WITH scored AS (
    SELECT
        nullif(trim(user_id::VARCHAR), '') AS user_id,
        CASE WHEN nullif(trim(user_id::VARCHAR), '') IS NULL THEN row_number() OVER () END AS alone,
        (list_position($models, model_left::VARCHAR) - 1)::INTEGER AS left_code,
        (list_position($models, model_right::VARCHAR) - 1)::INTEGER AS right_code,
        CASE winner::VARCHAR
            WHEN 'left' THEN 1.0 WHEN 'right' THEN 0.0 WHEN 'both_good' THEN 0.5 WHEN 'both_bad' THEN 0.5
        END::DOUBLE AS score
    FROM vote_table
    WHERE model_left IS NOT NULL AND model_right IS NOT NULL AND model_left <> model_right
        AND winner::VARCHAR IN ('left', 'right', 'both_good', 'both_bad')
),
cells AS (
    SELECT user_id, alone, left_code, right_code, score, count(*) AS n
    FROM scored
    GROUP BY ALL
)
SELECT (dense_rank() OVER (ORDER BY user_id, alone) - 1)::BIGINT AS voter, left_code, right_code, score, n
FROM cells
