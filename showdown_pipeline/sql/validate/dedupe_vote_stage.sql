-- The first two dedupe rules over dedupe_input (whole content and vote_id groups), one row per record:
-- reason exact_duplicate (the first delivery of the same content is kept), superseded (of one vote_id's
-- records, the latest exported_at wins, then the latest delivery), or NULL for the records left standing.
-- The orders are total (ingest_seq and source_row name one record), so the result is the same on any engine.
CREATE OR REPLACE TEMP TABLE dedupe_vote_stage AS
WITH exact AS (
    SELECT
        *,
        first_value(row_key) OVER (PARTITION BY content_hash ORDER BY ingest_seq, source_row) AS exact_kept
    FROM dedupe_input
),
by_vote_id AS (
    SELECT
        *,
        first_value(row_key) OVER (
            PARTITION BY vote_id
            ORDER BY exported_at DESC NULLS LAST, ingest_seq DESC, source_row DESC
        ) AS vote_kept
    FROM exact
    WHERE exact_kept = row_key
)
SELECT
    row_key, vote_id, user_id, battle_id, voted_at, ingest_seq, source_row,
    'exact_duplicate' AS reason, exact_kept AS kept_row_key
FROM exact
WHERE exact_kept <> row_key
UNION ALL
SELECT
    row_key, vote_id, user_id, battle_id, voted_at, ingest_seq, source_row,
    CASE WHEN vote_kept <> row_key THEN 'superseded' END AS reason,
    CASE WHEN vote_kept <> row_key THEN vote_kept END AS kept_row_key
FROM by_vote_id
