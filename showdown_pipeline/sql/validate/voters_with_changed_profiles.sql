-- A night: voters whose counted votes carry demographics their verified profile no longer has (a new
-- contributors record, or a profile gone), so their votes are written again with the profile in force.
CREATE OR REPLACE TEMP TABLE changed_voters AS
SELECT DISTINCT v.user_id
FROM votes_clean AS v
LEFT JOIN contributor_profiles AS p ON p.user_id = v.user_id
WHERE v.country IS DISTINCT FROM p.country
    OR v.age_band IS DISTINCT FROM p.age_band
    OR v.education IS DISTINCT FROM p.education
    OR v.profession IS DISTINCT FROM p.profession
