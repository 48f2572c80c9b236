-- Rows of the licensed exports the provider ledger counts, per ordered model pair; licensed_rows
-- (model_left, model_right) is registered by core/providers.py from the verified export files.
SELECT model_left, model_right, count(*) AS n
FROM licensed_rows
GROUP BY model_left, model_right
ORDER BY model_left, model_right
