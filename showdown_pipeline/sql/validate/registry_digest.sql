-- A digest of the registry in force (every column of every row, as the warehouse prints it), for the rules'
-- fingerprint (core/validation.py): computed here, so a value Python cannot hold (a year 294247) is no error.
SELECT coalesce(md5(string_agg(to_json(m)::VARCHAR, chr(10) ORDER BY m.registry_order, to_json(m)::VARCHAR)), '')
    AS digest
FROM model_registry AS m
