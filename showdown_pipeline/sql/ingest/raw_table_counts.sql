-- Rows of the ledger and of each raw table after an ingest: the ingest assets' row counts.
SELECT
    (SELECT count(*) FROM landing_files) AS landing_files,
    (SELECT count(*) FROM raw_votes) AS raw_votes,
    (SELECT count(*) FROM raw_contributors) AS raw_contributors,
    (SELECT count(*) FROM raw_models) AS raw_models
