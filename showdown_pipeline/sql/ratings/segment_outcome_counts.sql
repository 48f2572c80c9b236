-- One row per (segment value, model_left, model_right, winner) of one segment dimension among counted
-- votes before the data cut (segmented_votes, create_segmented_votes.sql, says which column each
-- dimension reads).
SELECT segment_value, model_left, model_right, winner, count(*) AS n
FROM segmented_votes
WHERE segment_dim = $segment_dim AND segment_value IS NOT NULL
    AND (voted_at < $cutoff OR voted_at IS NULL)
GROUP BY ALL
ORDER BY ALL
