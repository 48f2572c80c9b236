-- Every (licensee, as-of) the audit table holds a row for.
SELECT DISTINCT licensee, strftime(as_of, '%Y-%m-%d') AS as_of FROM export_audit ORDER BY ALL
