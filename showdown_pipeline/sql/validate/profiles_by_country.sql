-- The ten countries with the most verified contributors (a preview for the UI).
SELECT country, count(*) AS contributors FROM contributor_profiles GROUP BY country ORDER BY contributors DESC, country LIMIT 10
