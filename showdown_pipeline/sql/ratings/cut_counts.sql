-- How the data cut splits the counted votes: before it, at or after it (waiting), and undated.
SELECT
    count(*) FILTER (WHERE voted_at < $cutoff) AS before_cut,
    count(*) FILTER (WHERE voted_at >= $cutoff) AS after_cut,
    count(*) FILTER (WHERE voted_at IS NULL) AS undated
FROM votes_counted
