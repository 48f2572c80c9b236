-- The enum type `rated_model` of every model named in an LMArena-labelled table, in sorted order: the
-- style rows carry enum_code(model::rated_model), an integer index into model_type_values.sql's list,
-- so no model name per row crosses into Python. (`showdown rate` runs on its own in-memory database.)
CREATE TYPE rated_model AS ENUM (
    SELECT m
    FROM (SELECT DISTINCT model_a::VARCHAR AS m FROM vote_table UNION SELECT DISTINCT model_b::VARCHAR FROM vote_table)
    WHERE m IS NOT NULL
    ORDER BY m
)
