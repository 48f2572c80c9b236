-- One row per distinct (contributor, combination of quasi-identifiers) among a licensee's candidate
-- votes: the small table core/anonymity.py makes k-anonymous (a contributor voting in two languages
-- has two rows). Ordered, so the recoding it plans never depends on how the warehouse scanned.
SELECT DISTINCT contributor_key, country, age_band, education, profession, language
FROM licensed_candidates
ORDER BY ALL
