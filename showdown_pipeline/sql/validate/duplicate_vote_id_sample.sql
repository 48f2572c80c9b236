-- Up to ten vote_ids counted more than once (the check's failing sample).
SELECT vote_id FROM votes_clean GROUP BY vote_id HAVING count(*) > 1 ORDER BY vote_id LIMIT 10
