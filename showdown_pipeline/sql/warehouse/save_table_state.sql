-- Record (or replace) the state one derived table was made from.
INSERT OR REPLACE INTO table_states VALUES ($table_name, $run_id, $ledger_state, $kinds, $inputs, now())
