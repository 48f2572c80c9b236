-- Spark twin of create_export_rounding.sql (DuckDB's TEMP MACRO): the same rounding as a temporary SQL
-- function of this session. x to 2 significant digits (half away from zero); below 100 unchanged.
CREATE OR REPLACE TEMPORARY FUNCTION two_significant_digits(x BIGINT) RETURNS BIGINT RETURN
    CASE
        WHEN x IS NULL OR abs(x) < 100 THEN x
        ELSE CAST(
            sign(x) * round(abs(x) / power(10, length(CAST(abs(x) AS STRING)) - 2))
            * power(10, length(CAST(abs(x) AS STRING)) - 2) AS BIGINT
        )
    END
