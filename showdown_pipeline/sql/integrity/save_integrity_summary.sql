-- The integrity run's summary (JSON text): the one row of integrity_summary (create_integrity_summary.sql
-- empties the table first).
INSERT INTO integrity_summary VALUES ($summary)
