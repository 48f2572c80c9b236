-- Style covariates of an LMArena-labelled table with per-side counts (<feature>_a, <feature>_b for
-- tokens, headers, lists, bold, latency_ms): models as integer codes (positions in $models, the
-- sorted list of arena_models.sql), the winner as a score, each feature the normalised difference
-- (a − b)/(a + b) (0 when both are 0), identical rows aggregated. Rows missing a feature or with an
-- unscorable winner are left out.
SELECT
    (list_position($models, model_a::VARCHAR) - 1)::INTEGER AS left_code,
    (list_position($models, model_b::VARCHAR) - 1)::INTEGER AS right_code,
    CASE winner::VARCHAR
        WHEN 'model_a' THEN 1.0 WHEN 'model_b' THEN 0.0 WHEN 'tie' THEN 0.5 WHEN 'tie (bothbad)' THEN 0.5
    END::DOUBLE AS score,
    coalesce((tokens_a - tokens_b) / nullif(tokens_a + tokens_b, 0), 0.0) AS tokens,
    coalesce((headers_a - headers_b) / nullif(headers_a + headers_b, 0), 0.0) AS headers,
    coalesce((lists_a - lists_b) / nullif(lists_a + lists_b, 0), 0.0) AS lists,
    coalesce((bold_a - bold_b) / nullif(bold_a + bold_b, 0), 0.0) AS bold,
    coalesce((latency_ms_a - latency_ms_b) / nullif(latency_ms_a + latency_ms_b, 0), 0.0) AS latency_ms,
    count(*) AS n
FROM vote_table
WHERE model_a IS NOT NULL AND model_b IS NOT NULL AND model_a <> model_b
    AND winner::VARCHAR IN ('model_a', 'model_b', 'tie', 'tie (bothbad)')
    AND tokens_a IS NOT NULL AND tokens_b IS NOT NULL AND headers_a IS NOT NULL AND headers_b IS NOT NULL
    AND lists_a IS NOT NULL AND lists_b IS NOT NULL AND bold_a IS NOT NULL AND bold_b IS NOT NULL
    AND latency_ms_a IS NOT NULL AND latency_ms_b IS NOT NULL
GROUP BY ALL
