-- The scorable votes of an LMArena-labelled table split by voter (`judge`), for the voter-clustered
-- sandwich: one row per (voter, models, winner) with its count. Voters are integer codes; a row
-- without a judge is a voter of its own (as the pipeline treats it). Models are positions in $models
-- (arena_models.sql), the winner a score.
WITH scored AS (
    SELECT
        nullif(trim(judge::VARCHAR), '') AS judge,
        CASE WHEN nullif(trim(judge::VARCHAR), '') IS NULL THEN row_number() OVER () END AS alone,
        (list_position($models, model_a::VARCHAR) - 1)::INTEGER AS left_code,
        (list_position($models, model_b::VARCHAR) - 1)::INTEGER AS right_code,
        CASE winner::VARCHAR
            WHEN 'model_a' THEN 1.0 WHEN 'model_b' THEN 0.0 WHEN 'tie' THEN 0.5 WHEN 'tie (bothbad)' THEN 0.5
        END::DOUBLE AS score
    FROM vote_table
    WHERE model_a IS NOT NULL AND model_b IS NOT NULL AND model_a <> model_b
        AND winner::VARCHAR IN ('model_a', 'model_b', 'tie', 'tie (bothbad)')
),
cells AS (
    SELECT judge, alone, left_code, right_code, score, count(*) AS n
    FROM scored
    GROUP BY ALL
)
SELECT (dense_rank() OVER (ORDER BY judge, alone) - 1)::BIGINT AS voter, left_code, right_code, score, n
FROM cells
