-- Style covariates of the scorable votes: models as integer codes (positions in $models, the sorted
-- list of models.sql), the winner as its score, each feature the normalised difference (L − R)/(L + R)
-- (0 when both are 0), identical rows aggregated. Rows missing a feature are left out. Ordered: the fit
-- sums over these rows, and its last bits must not depend on the reader's threads.
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
FROM votes_table_scorable
WHERE tokens_left IS NOT NULL AND tokens_right IS NOT NULL AND headers_left IS NOT NULL
    AND headers_right IS NOT NULL AND lists_left IS NOT NULL AND lists_right IS NOT NULL
    AND bold_left IS NOT NULL AND bold_right IS NOT NULL AND latency_ms_left IS NOT NULL
    AND latency_ms_right IS NOT NULL
GROUP BY ALL
ORDER BY ALL
