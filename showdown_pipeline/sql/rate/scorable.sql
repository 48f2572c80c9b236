-- The rows of votes_table_canonical (normalise_*.sql) a Bradley-Terry fit can score: both models
-- named and different, a known winner. The rest are counted (rows in − rows scored), not scored.
CREATE OR REPLACE TEMP VIEW votes_table_scorable AS
SELECT *
FROM votes_table_canonical
WHERE model_left IS NOT NULL AND model_right IS NOT NULL AND model_left <> model_right AND winner IS NOT NULL
