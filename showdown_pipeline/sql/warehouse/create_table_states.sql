-- One row per derived table: the run that made it, the state of the landing ledger's entries of some
-- kinds it was made from (core/data_state.py) and the runs that made the tables it read (JSON: table ->
-- run id).
CREATE TABLE IF NOT EXISTS table_states (
    table_name VARCHAR PRIMARY KEY,
    run_id VARCHAR NOT NULL,
    ledger_state VARCHAR NOT NULL,
    kinds VARCHAR NOT NULL,         -- comma-separated ledger kinds ledger_state covers
    inputs JSON NOT NULL,
    made_at TIMESTAMPTZ NOT NULL
)
