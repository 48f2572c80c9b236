-- One row per vote that counts on the boards: counted by validation and dedupe (votes_clean) and
-- not excluded by an integrity check (vote_exclusions keeps the excluded ones with their reason).
CREATE OR REPLACE TABLE votes_counted AS
SELECT * FROM votes_clean AS v
WHERE NOT EXISTS (SELECT 1 FROM vote_exclusions AS e WHERE e.row_key = v.row_key)
