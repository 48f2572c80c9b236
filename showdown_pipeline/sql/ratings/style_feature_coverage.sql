-- Counted votes before the data cut with and without every style feature.
SELECT
    count(*) FILTER (WHERE tokens_left IS NOT NULL AND tokens_right IS NOT NULL AND headers_left IS NOT NULL
        AND headers_right IS NOT NULL AND lists_left IS NOT NULL AND lists_right IS NOT NULL
        AND bold_left IS NOT NULL AND bold_right IS NOT NULL AND latency_ms_left IS NOT NULL
        AND latency_ms_right IS NOT NULL) AS with_features,
    count(*) AS counted
FROM votes_counted
WHERE voted_at < $cutoff OR voted_at IS NULL
