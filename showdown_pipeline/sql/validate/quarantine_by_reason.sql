-- Quarantined vote records per reason.
SELECT reason, count(*) AS n FROM vote_quarantine GROUP BY reason ORDER BY reason
