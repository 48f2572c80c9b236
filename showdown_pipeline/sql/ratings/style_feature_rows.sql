-- Style covariates of counted votes before the data cut, one row per distinct (models, winner,
-- features) with its count; models as integer codes (positions in $models, counted_models.sql) and
-- the winner as its score (votes_clean.score), so no string per vote crosses into Python. Each feature is the normalised
-- difference (L − R) / (L + R) of the two responses (0 when both are 0). Votes missing any feature are left out of the style board (counted
-- by style_feature_coverage.sql). Ordered, so the fit's sums (and the board's last bits) do not depend on
-- how the reader's threads delivered the rows.
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
