-- Non-counted duplicate vote records per reason.
SELECT reason, count(*) AS n FROM vote_duplicates GROUP BY reason ORDER BY reason
