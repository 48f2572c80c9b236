-- The validation run's record (JSON: its run and the state of the landing ledger it read), read by
-- integrity and publish (core/data_state.py).
CREATE OR REPLACE TABLE validation_summary (summary JSON)
