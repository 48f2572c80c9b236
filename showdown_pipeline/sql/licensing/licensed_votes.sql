-- One row per vote of a licensed export: the candidates with k-anonymity applied (core/anonymity.py).
-- export_recode (attribute, value, output) is the value-level global recoding: one value always becomes
-- the same output. export_suppressed lists the contributors whose votes all leave the export. Rows are
-- ordered by their keyed vote_key: an order of the licensee's own.
SELECT
    c.vote_key,
    c.contributor_key,
    c.prompt_key,
    c.voted_on,
    c.distribution,
    c.model_left,
    c.model_right,
    c.winner,
    c.in_flow_side,
    c.category,
    coalesce(r_country.output, c.country) AS country,
    coalesce(r_age.output, c.age_band) AS age_band,
    coalesce(r_education.output, c.education) AS education,
    coalesce(r_profession.output, c.profession) AS profession,
    coalesce(r_language.output, c.language) AS language,
    c.tokens_left,
    c.tokens_right,
    c.headers_left,
    c.headers_right,
    c.lists_left,
    c.lists_right,
    c.bold_left,
    c.bold_right,
    c.latency_ms_left,
    c.latency_ms_right
FROM licensed_candidates AS c
LEFT JOIN export_recode AS r_country ON r_country.attribute = 'country' AND r_country.value = c.country
LEFT JOIN export_recode AS r_age ON r_age.attribute = 'age_band' AND r_age.value = c.age_band
LEFT JOIN export_recode AS r_education ON r_education.attribute = 'education' AND r_education.value = c.education
LEFT JOIN export_recode AS r_profession ON r_profession.attribute = 'profession' AND r_profession.value = c.profession
LEFT JOIN export_recode AS r_language ON r_language.attribute = 'language' AND r_language.value = c.language
WHERE NOT EXISTS (SELECT 1 FROM export_suppressed AS s WHERE s.contributor_key = c.contributor_key)
ORDER BY c.vote_key
