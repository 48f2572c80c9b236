-- Votes and contributors a licensee could receive before k-anonymity suppresses any.
SELECT count(*) AS rows, count(DISTINCT contributor_key) AS contributors FROM licensed_candidates
