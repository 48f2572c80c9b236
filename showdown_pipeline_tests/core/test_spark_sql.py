"""The SQL's one source of truth on two engines: every statement transpiles for Spark and Spark's parser reads
it; each rewrite of core/spark_sql.py gives on Spark what DuckDB gives on the same inputs; the hand-written
Spark twins are listed and pinned."""

from __future__ import annotations

import itertools

import duckdb
import pytest
import sqlglot

from showdown_pipeline.core.spark_sql import (
    DUCKDB_ONLY,
    REWRITES,
    SparkStatement,
    duckdb_only,
    expand_stars,
    hash_buckets,
    spark_overrides,
    spark_statement,
)
from showdown_pipeline.core.sql import all_sql_names, load_sql

# Statements with a hand-written Spark twin (`<name>.spark.sql`), each for a reason no rewrite can serve.
EXPECTED_OVERRIDES = [
    "licensing/create_export_rounding",  # DuckDB's TEMP MACRO: a temporary SQL function on Spark
    "validate/registry_digest",  # DuckDB reads a table alias as a row value (to_json(m)); Spark packs struct(m.*)
]


def _spark_texts(s: SparkStatement) -> list[str]:
    """What Spark must parse for the statement: its query part, or what the session builds from it."""
    if s.kind in ("update", "delete"):
        sets = ", ".join(f"CASE WHEN coalesce(({s.where}), FALSE) THEN ({e}) END AS {c}" for c, e in s.set)
        texts = [f"SELECT {sets or '*'} FROM {s.table} WHERE coalesce(({s.where}), FALSE)"]  # noqa: S608 - parsed
        if s.returning:
            texts.append(f"SELECT {s.returning} FROM {s.table}")  # noqa: S608 - parsed, only parsed
        return texts
    if s.kind in ("create_table", "replace_table", "add_column"):
        return [f"CREATE TABLE {s.table} ({', '.join(f'`{c}` {t}' for c, t in s.columns)}) USING parquet"]
    if s.kind == "drop":
        return [f"DROP TABLE IF EXISTS {s.table}"]
    return [s.sql]


@pytest.mark.parametrize("name", all_sql_names())
def test_every_statement_is_read_by_both_engines(name, spark):
    """DuckDB reads the file as one statement (load_sql); sqlglot transpiles it (or its twin is read) and
    Spark's own parser accepts what the Spark session will run."""
    load_sql(name)
    if duckdb_only(name):
        with pytest.raises(ValueError, match="runs on DuckDB only"):
            spark_statement(name)
        return
    statement = spark_statement(name)
    parser = spark._jsparkSession.sessionState().sqlParser()
    for text in _spark_texts(statement):
        if statement.stars:  # the session spells * EXCEPT / * REPLACE out from the tables' columns first
            text = expand_stars(text, lambda table: ["some_column"])
        parser.parsePlan(text)  # raises ParseException with the position


def test_the_spark_twins_are_the_expected_ones():
    assert spark_overrides() == EXPECTED_OVERRIDES
    for name in EXPECTED_OVERRIDES:
        assert name in all_sql_names()  # a twin never exists without its DuckDB statement
        assert spark_statement(name).override


def test_only_the_listed_statements_are_duckdb_only():
    assert DUCKDB_ONLY.keys() == {
        "rate",
        "warehouse/table_names",
        "ingest/lines_from_staged_add",
        "ingest/lines_from_parquet_add",
    }
    only = [name for name in all_sql_names() if duckdb_only(name)]
    assert sorted(only) == sorted(
        [
            "warehouse/table_names",
            "ingest/lines_from_staged_add",
            "ingest/lines_from_parquet_add",
            *[n for n in all_sql_names() if n.startswith("rate/")],
        ]
    )


def test_the_rewrites_are_listed_in_order():
    assert [r.__name__ for r in REWRITES] == [
        "file_reads",
        "json_functions",
        "time_functions",
        "list_functions",
        "hash_buckets",
        "integer_types",
        "interval_and_zone",
        "slices_and_row_structs",
        "regexp_full_match",
        "ordered_float_aggregates",
        "named_parameters",
    ]


def _both(spark, select: str, params: dict | None = None) -> tuple[list, list]:
    """`select` (DuckDB SQL) on DuckDB, and transpiled through the rewrites on Spark."""
    import sqlglot

    from showdown_pipeline.core.spark_warehouse import spark_args

    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    expected = [tuple(r) for r in duck.execute(select, params or {}).fetchall()]
    tree = sqlglot.parse_one(select, read="duckdb")
    for rewrite in REWRITES:
        tree = rewrite(tree)
    got = [tuple(r) for r in spark.sql(tree.sql(dialect="spark"), args=spark_args(params) or None).collect()]
    return expected, got


JSON_LINES = [
    '{"a":"x\\"y","b":1,"c":null,"d":{"e":1},"g":true,"h":-3,"j":[1,2]}',
    '{"a":"\\u00e9","b":"12"}',
    '{"b":18446744073709551615}',
    '{"b":-9223372036854775808}',
    '{"b":1.5}',
    "[1]",
    '"s"',
    "nul",
    "{}",
    "null",
    "7",
    "-7",
]


@pytest.mark.parametrize("line", JSON_LINES)
def test_json_functions_agree(spark, line):
    """json_valid, json_type and json_transform (VARCHAR and JSON fields) on Spark as on DuckDB."""
    select = """
        SELECT json_valid($l) AS v, try(json_type($l)) AS t, r.a, r.b, r.c, r.d, r.g, r.h, r.j, r.z,
            json_type(r.b) AS tb
        FROM (
            SELECT json_transform(
                CASE WHEN json_valid($l) AND json_type($l) = 'OBJECT' THEN $l END,
                '{"a":"JSON","b":"JSON","c":"JSON","d":"VARCHAR","g":"VARCHAR","h":"JSON","j":"VARCHAR","z":"JSON"}'
            ) AS r
        )
    """
    expected, got = _both(spark, select, {"l": line})
    assert got == expected


def test_time_list_and_regexp_functions_agree(spark):
    select = """
        SELECT
            epoch(TIMESTAMPTZ '2026-05-01 12:00:01.25+00') AS e,
            len(list_filter(['a', NULL, 'b'], LAMBDA x: x IS NOT NULL)) AS n,
            list_position(['a', 'b'], 'b') AS p,
            list_position(['a', 'b'], 'z') AS absent,
            regexp_full_match('abc', 'b') AS partial,
            regexp_full_match('abc', 'a.c') AS whole,
            regexp_full_match('abc', 'abc|x') AS alternation,
            (['x', 'y'])[1] AS first_item,
            strlen('é') AS bytes,
            try_cast('["en", "fr"]' AS VARCHAR[]) AS languages
    """
    expected, got = _both(spark, select)
    assert got == expected


@pytest.mark.parametrize("ids", [[], ["m-a"], ["m-b", "m-a"]])
def test_a_bound_list_is_read_alike_empty_or_not(spark, ids):
    """A list bound as a parameter ($marked_before of publish/pre_release_votes): empty (the case Spark refused
    when the empty array was cast) or not."""
    select = "SELECT list_contains($ids, 'm-a') AS a, list_contains($ids, 'zz') AS z"
    expected, got = _both(spark, select, {"ids": ids})
    assert got == expected


def test_an_ordered_list_keeps_its_order(spark):
    select = """
        SELECT g, list(v ORDER BY k) AS vs FROM (VALUES (1, 'b', 2), (1, 'a', 1), (1, 'c', 3), (2, 'z', 1)) AS t(g, v, k)
        GROUP BY g ORDER BY g
    """
    expected, got = _both(spark, select)
    assert [(g, list(v)) for g, v in got] == [(g, list(v)) for g, v in expected]


@pytest.mark.parametrize("n", [3, 7, 10, 1000, 1001])
def test_a_discrete_quantile_agrees(spark, n):
    """quantile_disc (integrity's prompt-flooding cap) picks the same element on both engines."""
    select = f"""
        SELECT quantile_disc(x, 0.999) AS top, quantile_disc(x, 0.5) AS mid, quantile_disc(x, 0.1) AS low
        FROM (SELECT unnest(range(1, {n + 1})) AS x)
    """  # noqa: S608 - n is the test's own integer
    expected, got = _both(spark, select)
    assert got == expected


def test_to_json_writes_null_fields_as_duckdb_does(spark):
    """A quarantined record's JSON (and the content hash of a vote) keeps its null fields on both engines."""
    select = "SELECT to_json({'a': 1, 'b': NULL, 'c': 'x'}) AS j, md5(to_json({'a': NULL})::VARCHAR) AS h"
    expected, got = _both(spark, select)
    assert got == expected


def test_an_exact_float_sum_agrees(spark):
    """Integrity's order-free float sums (user_model_scores, user_model_sweeps): terms rounded to multiples of
    2^-52 and summed as integers (HUGEINT; on Spark DECIMAL(38, 0)). Terms both engines compute alike
    (double arithmetic: a Spark literal like 1024.0 is a decimal) sum to the same bits; terms from ln and exp, whose last bit the JVM and C libraries may
    round apart, to 1e-12."""
    sums = """
        SELECT g, sum(round(x * 4503599627370496)::HUGEINT)::DOUBLE / 4503599627370496 AS s
        FROM (SELECT i % 3 AS g, {term} AS x FROM (SELECT unnest(range(1, 5001)) AS i))
        GROUP BY g ORDER BY g
    """
    expected, got = _both(spark, sums.format(term="CAST(i % 997 AS DOUBLE) / 1024 - 0.3"))
    assert got == expected and len(got) == 3
    term = (
        "CASE WHEN i % 2 = 0 THEN ln(0.01 + CAST(i % 97 AS DOUBLE) / 100) "
        "ELSE 1.0 / (1.0 + exp(CAST(i AS DOUBLE) / 7 - 9)) END"
    )
    expected, got = _both(spark, sums.format(term=term))
    assert [g for g, _ in got] == [g for g, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-12)


def test_hash_buckets_hold_every_row_once(spark):
    """`hash(x) % n = k` (the GX suite's slices of the votes) puts every row in exactly one of the n buckets
    on both engines: Spark's hash is signed and its `%` keeps the sign, so without the rewrite to pmod the
    rows with a negative hash were in no bucket (about half: this test saw them missing)."""
    buckets = """
        SELECT hash(CAST(i AS VARCHAR)) % {divisor} AS k, count(*) AS rows
        FROM (SELECT unnest(range(0, 5000)) AS i)
        GROUP BY ALL ORDER BY k
    """
    for n, divisor in itertools.product((1, 7, 10), ("$n", "CAST($n AS UBIGINT)")):  # the statements' form
        expected, got = _both(spark, buckets.format(divisor=divisor), {"n": n})
        assert [k for k, _ in expected] == list(range(n))
        assert [k for k, _ in got] == list(range(n))
        assert sum(r for _, r in got) == sum(r for _, r in expected) == 5000


def test_every_hash_bucket_of_a_statement_is_a_pmod_on_spark():
    """The statements themselves, as Spark runs them: integrity's passes over the voters
    (core/integrity/run.by_voters) bucket by pmod; a parenthesised hash is rewritten too."""
    for name, voter in (
        ("integrity/user_model_scores", "c.user_id"),
        ("integrity/user_model_sweeps", "user_id"),
    ):
        assert f"PMOD(HASH({voter}), :voter_passes) = :voter_pass" in spark_statement(name).sql, name
    tree = hash_buckets(sqlglot.parse_one("SELECT (hash(x)) % $n AS k", read="duckdb"))
    assert tree.sql(dialect="duckdb") == "SELECT PMOD(HASH(x), $n) AS k"
    tree = hash_buckets(sqlglot.parse_one("SELECT hash(x) % CAST($n AS UBIGINT) AS k", read="duckdb"))
    assert tree.sql(dialect="duckdb") == "SELECT PMOD(HASH(x), $n) AS k"
