-- The recorded state of every derived table.
SELECT table_name, run_id, ledger_state, kinds, inputs FROM table_states ORDER BY table_name
