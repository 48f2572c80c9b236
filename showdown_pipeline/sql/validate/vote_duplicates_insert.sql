-- The decided records that do not count, with the record that stands for them (rules: create_vote_duplicates.sql).
INSERT INTO vote_duplicates
SELECT row_key, vote_id, reason, kept_row_key FROM dedupe_vote_stage WHERE reason IS NOT NULL
UNION ALL
SELECT row_key, vote_id, 'duplicate_user_battle' AS reason, kept_row_key
FROM dedupe_user_battle_stage
WHERE kept_row_key <> row_key
