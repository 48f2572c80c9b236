-- One row per vote of a voter with an excluding flag (the first such flag by check name names the reason).
-- integrity_flags: the run's flag rows (user_flags to be), registered by the caller.
SELECT v.row_key, f.check_name, f.reason
FROM votes_clean AS v
JOIN (
    SELECT user_id, arg_min(check_name, check_name) AS check_name, arg_min(reason, check_name) AS reason
    FROM integrity_flags WHERE excluded GROUP BY user_id
) AS f USING (user_id)
WHERE v.voted_at < $cutoff OR v.voted_at IS NULL
ORDER BY v.row_key
