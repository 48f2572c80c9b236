-- Full rebuild: dedupe_vote_stage already holds every record; no other record takes part.
CREATE OR REPLACE TEMP TABLE dedupe_user_battle_extra AS
SELECT row_key, vote_id, user_id, battle_id, voted_at, ingest_seq, source_row
FROM dedupe_vote_stage
WHERE FALSE
