-- One row per valid vote record that does not count because another record stands for it, with a
-- pointer (kept_row_key) to the record that counts. Three rules, applied in this order:
--   exact_duplicate        the same record delivered again (identical fields): the first delivery is kept;
--   superseded             the same vote_id re-exported: the latest exported_at wins, then the latest delivery;
--   duplicate_user_battle  a second vote of one user on one battle: the first vote cast is kept.
CREATE OR REPLACE TABLE vote_duplicates AS
WITH valid AS (
    SELECT row_key, content_hash, vote_id, user_id, battle_id, voted_at, exported_at, ingest_seq, source_row
    FROM votes_checked
    WHERE reason IS NULL
),
exact AS (
    SELECT
        *,
        first_value(row_key) OVER (
            PARTITION BY content_hash ORDER BY ingest_seq, source_row
        ) AS kept_row_key
    FROM valid
),
after_exact AS (
    SELECT * EXCLUDE (kept_row_key) FROM exact WHERE kept_row_key = row_key
),
by_vote_id AS (
    SELECT
        *,
        first_value(row_key) OVER (
            PARTITION BY vote_id
            ORDER BY exported_at DESC NULLS LAST, ingest_seq DESC, source_row DESC
        ) AS kept_row_key
    FROM after_exact
),
after_vote_id AS (
    SELECT * EXCLUDE (kept_row_key) FROM by_vote_id WHERE kept_row_key = row_key
),
by_user_battle AS (
    SELECT
        *,
        first_value(row_key) OVER (
            PARTITION BY user_id, battle_id
            ORDER BY voted_at NULLS LAST, ingest_seq, source_row
        ) AS kept_row_key
    FROM after_vote_id
)
SELECT row_key, vote_id, 'exact_duplicate' AS reason, kept_row_key FROM exact WHERE kept_row_key <> row_key
UNION ALL
SELECT row_key, vote_id, 'superseded' AS reason, kept_row_key FROM by_vote_id WHERE kept_row_key <> row_key
UNION ALL
SELECT row_key, vote_id, 'duplicate_user_battle' AS reason, kept_row_key FROM by_user_battle WHERE kept_row_key <> row_key
