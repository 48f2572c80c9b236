-- A night: every valid record, old or new, of a vote_id the batch brings. An exact copy shares its vote_id
-- (the content includes it), so these records hold every content and vote_id group the batch can change.
CREATE OR REPLACE TEMP TABLE dedupe_input AS
SELECT row_key, content_hash, vote_id, user_id, battle_id, voted_at, exported_at, ingest_seq, source_row
FROM votes_checked
WHERE reason IS NULL
    AND vote_id IN (SELECT b.vote_id FROM votes_checked_batch AS b WHERE b.reason IS NULL)
