-- Style covariates (models as integer codes into rate/*_models.sql's sorted list, winner as a score) of an LMArena-labelled table with per-side counts (<feature>_a, <feature>_b for
-- tokens, headers, lists, bold, latency_ms): normalised differences (a − b)/(a + b), identical rows
-- aggregated. Rows missing a feature or with an unscorable winner are left out.
WITH models AS (
    SELECT m, (row_number() OVER (ORDER BY m) - 1)::INTEGER AS code
    FROM (SELECT DISTINCT model_a::VARCHAR AS m FROM vote_table UNION SELECT DISTINCT model_b::VARCHAR FROM vote_table)
    WHERE m IS NOT NULL
),
rows AS (
SELECT
    model_a::VARCHAR AS model_left,
    model_b::VARCHAR AS model_right,
    CASE winner::VARCHAR
        WHEN 'model_a' THEN 'left'
        WHEN 'model_b' THEN 'right'
        WHEN 'tie' THEN 'both_good'
        WHEN 'tie (bothbad)' THEN 'both_bad'
    END AS winner,
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
)
SELECT ml.code AS left_code, mr.code AS right_code,
    CASE winner WHEN 'left' THEN 1.0 WHEN 'right' THEN 0.0 ELSE 0.5 END::DOUBLE AS score,
    tokens, headers, lists, bold, latency_ms, n
FROM rows
JOIN models AS ml ON ml.m = rows.model_left
JOIN models AS mr ON mr.m = rows.model_right
