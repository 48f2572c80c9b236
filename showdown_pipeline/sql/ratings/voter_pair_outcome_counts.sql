-- The Bradley-Terry cells of pair_outcome_counts.sql split by voter, for the voter-clustered
-- sandwich interval: one row per (voter, model_left, model_right, winner) among counted votes before
-- the data cut. Voters are integer codes (dense rank of user_id, which never leaves the warehouse),
-- models are positions in $models, the winner is its score (votes_clean.score). Ordered, so the clustered
-- sums (and the interval's last bits) do not depend on how the reader's threads delivered the rows.
SELECT
    (dense_rank() OVER (ORDER BY user_id) - 1)::BIGINT AS voter,
    left_code,
    right_code,
    score,
    n
FROM (
    SELECT
        user_id,
        (list_position($models, model_left) - 1)::INTEGER AS left_code,
        (list_position($models, model_right) - 1)::INTEGER AS right_code,
        score,
        count(*) AS n
    FROM votes_counted
    WHERE voted_at < $cutoff OR voted_at IS NULL
    GROUP BY ALL
)
ORDER BY ALL
