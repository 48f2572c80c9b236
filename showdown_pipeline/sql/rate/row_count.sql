-- Rows of the loaded vote table.
SELECT count(*) AS n FROM vote_table
