-- The record (one row, JSON) of the run that last made the validated tables.
SELECT summary FROM validation_summary
