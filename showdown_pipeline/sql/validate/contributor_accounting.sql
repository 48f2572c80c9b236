-- Contributor records in, unusable (with reasons), and verified profiles out.
SELECT
    (SELECT count(*) FROM contributors_checked) AS records_in,
    (SELECT count(*) FROM contributors_checked WHERE reason IS NOT NULL) AS invalid,
    (SELECT count(*) FROM contributor_profiles) AS verified_profiles
