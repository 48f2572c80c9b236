-- The style rows of every segment dimension in one pass: one row per distinct (the voter's value in each
-- dimension, models, score, features) among counted votes before the data cut with every style feature,
-- with its count. The dimension columns are those segmented_votes reads (create_segmented_votes.sql; a
-- test holds the two equal); models are positions in $models (counted_models.sql). core/style_segments.py
-- groups these rows by one dimension's value and merges the rows that then coincide, which gives exactly
-- what a GROUP BY (value, models, score, features) per dimension gives, in the same order: these rows are
-- ordered by everything but the dimensions, so each value's rows keep that order under a stable sort by
-- the value (and rows tied on every key are the ones merged). One scan of the votes, not one per dimension.
WITH counted AS (
    SELECT * FROM votes_counted
    WHERE (voted_at < $cutoff OR voted_at IS NULL)
        AND tokens_left IS NOT NULL AND tokens_right IS NOT NULL
        AND headers_left IS NOT NULL AND headers_right IS NOT NULL
        AND lists_left IS NOT NULL AND lists_right IS NOT NULL
        AND bold_left IS NOT NULL AND bold_right IS NOT NULL
        AND latency_ms_left IS NOT NULL AND latency_ms_right IS NOT NULL
)
SELECT
    country,
    age_band,
    education,
    profession,
    language,
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
ORDER BY left_code, right_code, score, tokens, headers, lists, bold, latency_ms
