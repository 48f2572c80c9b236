-- Contributor records from the staged lines; `languages` stays a JSON text list.
-- No ORDER BY: rows are inserted in file order as read, and a sort held every row in memory (20 million
-- `{}` records took 13 GB; bench/bench_ingest_limits.py).
INSERT INTO raw_contributors
SELECT
    source_sha256,
    source_row,
    CASE WHEN NOT is_object THEN 'unparseable_line' END AS parse_error,
    CASE WHEN NOT is_object THEN line END AS raw_line,
    rec.user_id,
    rec.country,
    rec.age_band,
    rec.education,
    rec.profession,
    rec.languages,
    rec.verified,
    rec.verified_at,
    rec.account_created_at
FROM (
    SELECT
        source_sha256,
        source_row,
        line,
        is_object,
        json_transform(CASE WHEN is_object THEN line END, '{"user_id":"VARCHAR","country":"VARCHAR","age_band":"VARCHAR","education":"VARCHAR","profession":"VARCHAR","languages":"VARCHAR","verified":"VARCHAR","verified_at":"VARCHAR","account_created_at":"VARCHAR"}') AS rec
    FROM (
        SELECT
            source_sha256,
            source_row,
            line,
            coalesce(json_valid(line), FALSE) AND coalesce(try(json_type(line)) = 'OBJECT', FALSE) AS is_object
        FROM landing_lines
        WHERE NOT is_blank
    )
)
