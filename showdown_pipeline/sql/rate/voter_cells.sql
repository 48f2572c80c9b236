-- The scorable votes split by voter (judge or user_id), for the voter-clustered sandwich: one row per
-- (voter, models, winner) with its count. Voters are integer codes; a row without a voter is a voter
-- of its own (as the pipeline treats it). Models are positions in $models (models.sql), the winner
-- its score. Ordered, so the clustered sums (and the interval's last bits) do not depend on how the
-- reader's threads happened to deliver the rows.
WITH scored AS (
    SELECT
        voter,
        CASE WHEN voter IS NULL THEN row_number() OVER () END AS alone,
        (list_position($models, model_left) - 1)::INTEGER AS left_code,
        (list_position($models, model_right) - 1)::INTEGER AS right_code,
        score
    FROM votes_table_scorable
),
cells AS (
    SELECT voter, alone, left_code, right_code, score, count(*) AS n
    FROM scored
    GROUP BY ALL
)
SELECT (dense_rank() OVER (ORDER BY voter, alone) - 1)::BIGINT AS voter, left_code, right_code, score, n
FROM cells
ORDER BY ALL
