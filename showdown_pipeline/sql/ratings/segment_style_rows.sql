-- The style board's rows (style_feature_rows.sql) split by the values of one segment dimension: one row
-- per distinct (segment value, models, score, features) among counted votes before the data cut with
-- every style feature, with its count; models as positions in $models (counted_models.sql). The style
-- segment boards (core/style_segments.py) fit these with the overall style coefficients held fixed.
-- Ordered, so the fits' sums do not depend on how the reader's threads delivered the rows.
WITH counted AS (
    SELECT * FROM segmented_votes
    WHERE segment_dim = $segment_dim AND segment_value IS NOT NULL
        AND (voted_at < $cutoff OR voted_at IS NULL)
        AND tokens_left IS NOT NULL AND tokens_right IS NOT NULL
        AND headers_left IS NOT NULL AND headers_right IS NOT NULL
        AND lists_left IS NOT NULL AND lists_right IS NOT NULL
        AND bold_left IS NOT NULL AND bold_right IS NOT NULL
        AND latency_ms_left IS NOT NULL AND latency_ms_right IS NOT NULL
)
SELECT
    segment_value,
    (list_position($models, model_left) - 1)::INTEGER AS left_code,
    (list_position($models, model_right) - 1)::INTEGER AS right_code,
    score,
    coalesce((tokens_left - tokens_right) / nullif(tokens_left + tokens_right, 0), 0.0) AS tokens,
    coalesce((headers_left - headers_right) / nullif(headers_left + headers_right, 0), 0.0) AS headers,
    coalesce((lists_left - lists_right) / nullif(lists_left + lists_right, 0), 0.0) AS lists,
    coalesce((bold_left - bold_right) / nullif(bold_left + bold_right, 0), 0.0) AS bold,
    coalesce((latency_ms_left - latency_ms_right) / nullif(latency_ms_left + latency_ms_right, 0), 0.0) AS latency_ms,
    count(*) AS n
FROM counted
GROUP BY ALL
ORDER BY ALL
