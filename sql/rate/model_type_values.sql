-- The models of the `rated_model` enum (arena_model_type.sql / canonical_model_type.sql) in code order.
SELECT unnest(enum_range(NULL::rated_model))::VARCHAR AS model_id
