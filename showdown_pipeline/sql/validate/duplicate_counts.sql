-- What no_duplicate_vote_ids forbids: vote_ids, and (user_id, battle_id) pairs, counted more than once.
SELECT
    (SELECT count(*) FROM (SELECT vote_id FROM votes_clean GROUP BY vote_id HAVING count(*) > 1)) AS duplicate_vote_ids,
    (SELECT count(*) FROM (SELECT 1 FROM votes_clean GROUP BY user_id, battle_id HAVING count(*) > 1))
        AS duplicate_user_battles
