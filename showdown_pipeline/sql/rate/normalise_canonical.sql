-- A vote table with canonical labels (`vote_table`: model_left, model_right, winner in left | right |
-- both_good | both_bad, optional user_id and per-side style counts <feature>_left, <feature>_right) as
-- the canonical view every `rate/` statement reads, with the same columns as normalise_arena.sql. The
-- score comes from the rule relation winner_scores (core/vote_schema.py); any other label has no
-- winner and no score. A column the table lacks (user_id, a style count) is NULL: the empty row set
-- joined BY NAME supplies it. One row per row of the table, none filtered.
CREATE OR REPLACE TEMP VIEW votes_table_canonical AS
SELECT
    v.model_left::VARCHAR AS model_left,
    v.model_right::VARCHAR AS model_right,
    s.winner,
    s.score,
    nullif(trim(v.user_id::VARCHAR), '') AS voter,
    v.tokens_left::DOUBLE AS tokens_left,
    v.tokens_right::DOUBLE AS tokens_right,
    v.headers_left::DOUBLE AS headers_left,
    v.headers_right::DOUBLE AS headers_right,
    v.lists_left::DOUBLE AS lists_left,
    v.lists_right::DOUBLE AS lists_right,
    v.bold_left::DOUBLE AS bold_left,
    v.bold_right::DOUBLE AS bold_right,
    v.latency_ms_left::DOUBLE AS latency_ms_left,
    v.latency_ms_right::DOUBLE AS latency_ms_right
FROM (
    SELECT * FROM vote_table
    UNION ALL BY NAME
    (
        SELECT
            NULL AS user_id,
            NULL AS tokens_left, NULL AS tokens_right, NULL AS headers_left, NULL AS headers_right,
            NULL AS lists_left, NULL AS lists_right, NULL AS bold_left, NULL AS bold_right,
            NULL AS latency_ms_left, NULL AS latency_ms_right
        LIMIT 0
    )
) AS v
LEFT JOIN winner_scores AS s ON s.winner = v.winner::VARCHAR
