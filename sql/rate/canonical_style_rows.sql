-- Style covariates (models as integer codes into rate/*_models.sql's sorted list, winner as a score) of a canonical table (<feature>_left, <feature>_right): normalised differences
-- (L − R)/(L + R), identical rows aggregated; rows missing a feature or with an unscorable winner are left out.
WITH models AS (
    SELECT m, (row_number() OVER (ORDER BY m) - 1)::INTEGER AS code
    FROM (SELECT DISTINCT model_left::VARCHAR AS m FROM vote_table UNION SELECT DISTINCT model_right::VARCHAR FROM vote_table)
    WHERE m IS NOT NULL
),
rows AS (
SELECT
    model_left::VARCHAR AS model_left,
    model_right::VARCHAR AS model_right,
    winner::VARCHAR AS winner,
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
)
SELECT ml.code AS left_code, mr.code AS right_code,
    CASE winner WHEN 'left' THEN 1.0 WHEN 'right' THEN 0.0 ELSE 0.5 END::DOUBLE AS score,
    tokens, headers, lists, bold, latency_ms, n
FROM rows
JOIN models AS ml ON ml.m = rows.model_left
JOIN models AS mr ON mr.m = rows.model_right
