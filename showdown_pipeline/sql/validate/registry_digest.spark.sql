-- Spark's twin of registry_digest.sql: Spark cannot read a table alias as a row value (DuckDB's to_json(m)), so
-- each row is packed with struct(m.*) first; rows are joined in registry order as DuckDB's string_agg joins
-- them. The digest differs between the engines (each prints JSON its own way); it is compared only with
-- digests the same warehouse wrote, so it changes exactly when the registry in force changes.
SELECT
    coalesce(
        md5(
            concat_ws(
                chr(10),
                transform(
                    array_sort(collect_list(named_struct('o', m.registry_order, 'j', to_json(struct(m.*))))),
                    r -> r.j
                )
            )
        ),
        ''
    ) AS digest
FROM model_registry AS m
