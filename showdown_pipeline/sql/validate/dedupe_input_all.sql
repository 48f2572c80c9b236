-- Full rebuild: every valid record takes part in the dedupe rules (dedupe_vote_stage.sql).
CREATE OR REPLACE TEMP TABLE dedupe_input AS
SELECT row_key, content_hash, vote_id, user_id, battle_id, voted_at, exported_at, ingest_seq, source_row
FROM votes_checked
WHERE reason IS NULL
