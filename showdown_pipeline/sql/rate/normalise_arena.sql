-- An LMArena / FastChat-labelled vote table (`vote_table`: model_a, model_b, winner in model_a |
-- model_b | tie | tie (bothbad), optional judge and per-side style counts <feature>_a, <feature>_b) as
-- the canonical view every `rate/` statement reads. The labels come from the rule relation
-- arena_winners and the score from winner_scores (core/vote_schema.py), never spelled out here; an
-- unknown label has no winner and no score. A column the table lacks (judge, a style count) is NULL:
-- the empty row set joined BY NAME supplies it. One row per row of the table, none filtered.
CREATE OR REPLACE TEMP VIEW votes_table_canonical AS
SELECT
    v.model_a::VARCHAR AS model_left,
    v.model_b::VARCHAR AS model_right,
    a.winner,
    s.score,
    nullif(trim(v.judge::VARCHAR), '') AS voter,
    v.tokens_a::DOUBLE AS tokens_left,
    v.tokens_b::DOUBLE AS tokens_right,
    v.headers_a::DOUBLE AS headers_left,
    v.headers_b::DOUBLE AS headers_right,
    v.lists_a::DOUBLE AS lists_left,
    v.lists_b::DOUBLE AS lists_right,
    v.bold_a::DOUBLE AS bold_left,
    v.bold_b::DOUBLE AS bold_right,
    v.latency_ms_a::DOUBLE AS latency_ms_left,
    v.latency_ms_b::DOUBLE AS latency_ms_right
FROM (
    SELECT * FROM vote_table
    UNION ALL BY NAME
    (
        SELECT
            NULL AS judge,
            NULL AS tokens_a, NULL AS tokens_b, NULL AS headers_a, NULL AS headers_b, NULL AS lists_a,
            NULL AS lists_b, NULL AS bold_a, NULL AS bold_b, NULL AS latency_ms_a, NULL AS latency_ms_b
        LIMIT 0
    )
) AS v
LEFT JOIN arena_winners AS a ON a.label = v.winner::VARCHAR
LEFT JOIN winner_scores AS s ON s.winner = a.winner
