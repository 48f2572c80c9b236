-- Unusable contributor records per reason.
SELECT reason, count(*) AS n FROM contributors_checked WHERE reason IS NOT NULL GROUP BY reason ORDER BY reason
