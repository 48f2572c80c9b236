-- Rows of the loaded vote table (votes_table_canonical keeps one row per row of the file).
SELECT count(*) AS n FROM votes_table_canonical
