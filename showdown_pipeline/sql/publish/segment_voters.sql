-- One row per (segment dimension, value): distinct voters among counted votes before the data cut
-- (undated votes count, as on the boards). The public snapshot withholds values held by fewer than
-- K_ANONYMITY voters (core/anonymity.py).
SELECT segment_dim, segment_value, count(DISTINCT user_id) AS voters
FROM segmented_votes
WHERE segment_value IS NOT NULL AND (voted_at < $cutoff OR voted_at IS NULL)
GROUP BY ALL
ORDER BY ALL
