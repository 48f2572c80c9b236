-- A night: the other records standing after the first two rules (earlier runs decided them, and the batch
-- cannot change that: their vote_ids are not in it) whose (user_id, battle_id) a record of
-- dedupe_vote_stage has, so that the third rule sees every record of each (user, battle) it decides again.
CREATE OR REPLACE TEMP TABLE dedupe_user_battle_extra AS
SELECT v.row_key, v.vote_id, v.user_id, v.battle_id, v.voted_at, v.ingest_seq, v.source_row
FROM votes_checked AS v
WHERE v.reason IS NULL
    AND EXISTS (
        SELECT 1 FROM dedupe_vote_stage AS s
        WHERE s.user_id = v.user_id AND s.battle_id = v.battle_id
    )
    AND v.vote_id NOT IN (SELECT i.vote_id FROM dedupe_input AS i)
    AND v.row_key NOT IN (
        SELECT d.row_key FROM vote_duplicates AS d WHERE d.reason IN ('exact_duplicate', 'superseded')
    )
