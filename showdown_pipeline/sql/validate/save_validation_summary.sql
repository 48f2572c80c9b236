-- The validation run's record (JSON text): the one row of validation_summary (create_validation_summary.sql
-- empties the table first).
INSERT INTO validation_summary VALUES ($summary)
