-- Tables of the warehouse's main schema (temporary tables and views excluded).
SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY table_name
