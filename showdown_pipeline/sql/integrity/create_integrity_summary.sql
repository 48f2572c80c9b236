-- The integrity run's summary (JSON), read by publish.
CREATE OR REPLACE TABLE integrity_summary (summary JSON)
