-- x to 2 significant digits (half away from zero), for a licensed export's counts (core/holdout.py
-- EXPORT_PRECISION): below 100 unchanged, 1234 -> 1200, 1250 -> 1300. A macro of this connection only.
-- (sqlfluff reads the parameter x as a keyword and a type name: noqa)
CREATE OR REPLACE TEMP MACRO two_significant_digits(x) AS (  -- noqa: CP01,CP05
    CASE
        WHEN x IS NULL OR abs(x) < 100 THEN x
        ELSE (
            sign(x) * round(abs(x) / 10 ** (length(cast(abs(x) AS VARCHAR)) - 2))
            * 10 ** (length(cast(abs(x) AS VARCHAR)) - 2)
        )::BIGINT
    END
)
