-- The integrity run's summary (JSON text), into the table create_integrity_summary.sql made.
INSERT INTO integrity_summary VALUES ($summary)
