-- The third dedupe rule over every record standing after the first two in the (user_id, battle_id) groups
-- being decided: the first vote cast is kept (then the first delivery). One row per record, with the kept one.
CREATE OR REPLACE TEMP TABLE dedupe_user_battle_stage AS
WITH standing AS (
    SELECT row_key, vote_id, user_id, battle_id, voted_at, ingest_seq, source_row
    FROM dedupe_vote_stage
    WHERE reason IS NULL
    UNION ALL
    SELECT row_key, vote_id, user_id, battle_id, voted_at, ingest_seq, source_row
    FROM dedupe_user_battle_extra
)
SELECT
    row_key,
    vote_id,
    first_value(row_key) OVER (
        PARTITION BY user_id, battle_id
        ORDER BY voted_at NULLS LAST, ingest_seq, source_row
    ) AS kept_row_key
FROM standing
