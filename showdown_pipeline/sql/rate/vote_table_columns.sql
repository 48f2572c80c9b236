-- No rows: only the loaded vote table's columns (which labels it uses, whether it names voters).
SELECT * FROM vote_table LIMIT 0
