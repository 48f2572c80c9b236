-- Every counted vote once per segment dimension, with the voter's value there: the one place that
-- says which column a dimension reads. Demographic dimensions use the voter's verified profile (votes
-- of unverified voters count in the overall board only, their value is NULL); `language` is the
-- conversation's language. The style segment boards read the same columns for every dimension in one
-- pass (segment_style_votes.sql; a test holds it equal to a GROUP BY over this view, dimension by
-- dimension, so the score and style features stay here). A view: it always reflects the current votes_counted.
CREATE OR REPLACE VIEW segmented_votes AS
SELECT segment_dim, segment_value, user_id, model_left, model_right, winner, voted_at, score,
    tokens_left, tokens_right, headers_left, headers_right, lists_left, lists_right,
    bold_left, bold_right, latency_ms_left, latency_ms_right
FROM (
    SELECT 'country' AS segment_dim, country AS segment_value, * FROM votes_counted
    UNION ALL
    SELECT 'age_band', age_band, * FROM votes_counted
    UNION ALL
    SELECT 'education', education, * FROM votes_counted
    UNION ALL
    SELECT 'profession', profession, * FROM votes_counted
    UNION ALL
    SELECT 'language', language, * FROM votes_counted
)
