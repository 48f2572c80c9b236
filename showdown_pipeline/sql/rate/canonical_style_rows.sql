-- Style covariates of a canonical table (<feature>_left, <feature>_right): models as integer codes
-- (positions in $models, the sorted list of canonical_models.sql), the winner as a score, each feature the
-- normalised difference (L − R)/(L + R) (0 when both are 0), identical rows aggregated. Rows missing a
-- feature or with an unscorable winner are left out.
SELECT
    (list_position($models, model_left::VARCHAR) - 1)::INTEGER AS left_code,
    (list_position($models, model_right::VARCHAR) - 1)::INTEGER AS right_code,
    CASE winner::VARCHAR
        WHEN 'left' THEN 1.0 WHEN 'right' THEN 0.0 WHEN 'both_good' THEN 0.5 WHEN 'both_bad' THEN 0.5
    END::DOUBLE AS score,
    coalesce((tokens_left - tokens_right) / nullif(tokens_left + tokens_right, 0), 0.0) AS tokens,
    coalesce((headers_left - headers_right) / nullif(headers_left + headers_right, 0), 0.0) AS headers,
    coalesce((lists_left - lists_right) / nullif(lists_left + lists_right, 0), 0.0) AS lists,
    coalesce((bold_left - bold_right) / nullif(bold_left + bold_right, 0), 0.0) AS bold,
    coalesce((latency_ms_left - latency_ms_right) / nullif(latency_ms_left + latency_ms_right, 0), 0.0) AS latency_ms,
    count(*) AS n
FROM vote_table
WHERE model_left IS NOT NULL AND model_right IS NOT NULL AND model_left <> model_right
    AND winner::VARCHAR IN ('left', 'right', 'both_good', 'both_bad')
    AND tokens_left IS NOT NULL AND tokens_right IS NOT NULL AND headers_left IS NOT NULL
    AND headers_right IS NOT NULL AND lists_left IS NOT NULL AND lists_right IS NOT NULL
    AND bold_left IS NOT NULL AND bold_right IS NOT NULL AND latency_ms_left IS NOT NULL
    AND latency_ms_right IS NOT NULL
GROUP BY ALL
