-- Valid and counted votes inside the data cut (before it, or undated): what the volume and exclusion breakers weigh.
SELECT
    (SELECT count(*) FROM votes_clean WHERE voted_at < $cutoff OR voted_at IS NULL) AS valid,
    (SELECT count(*) FROM votes_counted WHERE voted_at < $cutoff OR voted_at IS NULL) AS counted
