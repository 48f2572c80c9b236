"""DuckDB statements for Spark: the one place every engine difference of the SQL lives.

Each statement has one source of truth, `sql/<stage>/<name>.sql`, written in DuckDB's dialect. For Spark it is
parsed with sqlglot (read='duckdb'), passed through the rewrites below (`REWRITES`, in order, each a small named
function with its test in `core/test_spark_sql.py`) and generated in Spark's dialect. Where no rewrite can be
right, a hand-written Spark statement sits next to the DuckDB one as `sql/<stage>/<name>.spark.sql`
(`spark_overrides()` lists them; a test holds each to its DuckDB twin's columns).

Values stay bound parameters: DuckDB's `$name` becomes Spark's named marker `:name`, bound by
`spark.sql(text, args=...)`; no value is ever formatted into the text. `read_parquet($path)` becomes a view
the session makes from the bound path (`file_params`).

What the Spark session does with a statement depends on its kind (`SparkStatement.kind`): a query runs as
is; DDL and DML are carried out by the session's table store (core/spark_warehouse.py) with the statement's
query part, because Spark's own DDL on plain Parquet tables has no REPLACE, UPDATE or DELETE.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable

import sqlglot
from sqlglot import exp

from showdown_pipeline.core.sql import SQL_ROOT, load_sql, sql_names_ending

SPARK_SUFFIX = ".spark.sql"
_FUNCTION = re.compile(r"^\s*CREATE\s+(OR\s+REPLACE\s+)?TEMPORARY\s+FUNCTION\b", re.IGNORECASE | re.MULTILINE)


# ---------------------------------------------------------------------------------------------- rewrites
# Each takes and returns a DuckDB-dialect tree; the generator then writes Spark SQL.


def _func(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def regexp_full_match(tree: exp.Expression) -> exp.Expression:
    """regexp_full_match(s, p) (whole string) → s RLIKE '^(?:' || p || ')$' (Spark's RLIKE finds)."""

    def fix(node):
        if isinstance(node, exp.Anonymous) and node.name.lower() == "regexp_full_match":
            s, p = node.expressions
            anchored = exp.func("concat", exp.Literal.string("^(?:"), p, exp.Literal.string(")$"))
            return exp.RegexpLike(this=s, expression=anchored)
        if isinstance(node, exp.RegexpFullMatch):
            anchored = exp.func(
                "concat", exp.Literal.string("^(?:"), node.expression, exp.Literal.string(")$")
            )
            return exp.RegexpLike(this=node.this, expression=anchored)
        return node

    return tree.transform(fix)


def ordered_float_aggregates(tree: exp.Expression) -> exp.Expression:
    """SUM/AVG/STDDEV(x ORDER BY y): DuckDB orders the terms so float sums repeat bit for bit; Spark has no
    ordered aggregate. The ORDER BY is dropped: the sum is the same to the last few bits (the engines agree
    to 1e-6 Elo, not bit for bit)."""

    def fix(node):
        if (
            isinstance(node, exp.AggFunc)
            and isinstance(node.this, exp.Order)
            and not isinstance(node, exp.ArrayAgg | exp.GroupConcat)
        ):
            node.set("this", node.this.this)
        return node

    return tree.transform(fix)


def hash_buckets(tree: exp.Expression) -> exp.Expression:
    """hash(x) % n → pmod(hash(x), n). DuckDB's hash is an unsigned 64-bit number, so `hash(x) % n = k`
    over k in 0 … n−1 puts every row in exactly one bucket; Spark's hash is a signed 32-bit one and its `%`
    keeps the dividend's sign, so the rows whose hash is negative fell in no bucket (the GX suite's slices,
    then buckets of validate/votes_for_expectations.sql, skipped about half the votes and marked them
    checked). pmod's remainder is never negative. A divisor cast to UBIGINT (hash's type in DuckDB, where
    an INTEGER divisor made the division a HUGEINT one, ten times slower) is taken without the cast: Spark
    has no UBIGINT, and its hash is a 32-bit int."""

    def fix(node):
        if isinstance(node, exp.Mod):
            dividend = node.this.unnest() if isinstance(node.this, exp.Paren) else node.this
            if isinstance(dividend, exp.Anonymous) and dividend.name.lower() == "hash":
                divisor = node.expression
                if isinstance(divisor, exp.Cast) and divisor.to.is_type(exp.DataType.Type.UBIGINT):
                    divisor = divisor.this
                return _func("pmod", dividend, divisor)
        return node

    return tree.transform(fix)


def named_parameters(tree: exp.Expression) -> exp.Expression:
    """$name → :name (sqlglot reads DuckDB's `$name` as a Parameter; Spark binds `:name` markers)."""

    def fix(node):
        if isinstance(node, exp.Parameter):
            return exp.Placeholder(this=node.name)
        return node

    return tree.transform(fix)


def file_reads(tree: exp.Expression) -> exp.Expression:
    """read_parquet($path) → the view `_file_path`, which the session makes from the bound value."""

    def fix(node):
        if isinstance(node, exp.Table) and isinstance(node.this, exp.ReadParquet):
            (arg,) = node.this.expressions
            if isinstance(arg, exp.Parameter | exp.Placeholder):
                return exp.Table(this=exp.to_identifier(f"_file_{arg.name}"), alias=node.args.get("alias"))
        return node

    return tree.transform(fix)


def _spark_expr(text: str, **slots: exp.Expression) -> exp.Expression:
    """A Spark SQL expression template with `{slot}` holes filled by trees."""
    tree = sqlglot.parse_one(text.format(**{k: f"__slot_{k}" for k in slots}), read="spark")

    def fill(node):
        if isinstance(node, exp.Column) and node.name.startswith("__slot_"):
            return slots[node.name.removeprefix("__slot_")].copy()
        return node

    return tree.transform(fill)


# DuckDB's json_type names, from Spark's schema_of_variant: integers that fit 64 bits are UBIGINT when not
# negative, else BIGINT; JSON numbers with a fraction or exponent (Spark: DECIMAL or DOUBLE) and integers
# beyond 64 bits are DOUBLE. `transform(array(e), v -> …)[0]` binds e once (Spark SQL has no LET).
_JSON_TYPE = """transform(array(try_parse_json({x})), jv_ -> CASE
    WHEN jv_ IS NULL THEN NULL
    WHEN schema_of_variant(jv_) LIKE 'OBJECT%' THEN 'OBJECT'
    WHEN schema_of_variant(jv_) LIKE 'ARRAY%' THEN 'ARRAY'
    WHEN schema_of_variant(jv_) = 'STRING' THEN 'VARCHAR'
    WHEN schema_of_variant(jv_) = 'BOOLEAN' THEN 'BOOLEAN'
    WHEN schema_of_variant(jv_) = 'VOID' THEN 'NULL'
    WHEN schema_of_variant(jv_) IN ('TINYINT', 'SMALLINT', 'INT', 'BIGINT')
        THEN CASE WHEN variant_get(jv_, '$', 'bigint') < 0 THEN 'BIGINT' ELSE 'UBIGINT' END
    WHEN schema_of_variant(jv_) LIKE 'DECIMAL(%,0)'
        AND try_cast(variant_get(jv_, '$', 'string') AS DECIMAL(38, 0)) BETWEEN 0 AND 18446744073709551615
        THEN 'UBIGINT'
    ELSE 'DOUBLE'
END)[0]"""

# DuckDB's json_transform types and how Spark's from_json reads each: VARCHAR as STRING (a string unquoted,
# anything else as its JSON text, numbers normalised as DuckDB does: 1.50 -> 1.5, 1e3 -> 1000.0); JSON as a
# VARIANT turned back into JSON text (a string keeps its quotes), JSON null as NULL.
_JSON_FIELD_TYPES = {"VARCHAR": "STRING", "JSON": "VARIANT"}


def _json_transform(x: exp.Expression, spec: str) -> exp.Expression:
    fields = json.loads(spec)
    unknown = sorted({kind for kind in fields.values() if kind not in _JSON_FIELD_TYPES})
    if unknown:
        raise ValueError(f"json_transform to {', '.join(unknown)} has no Spark rewrite")
    schema = ", ".join(f"`{key}` {_JSON_FIELD_TYPES[kind]}" for key, kind in fields.items())
    parts = []
    for key, kind in fields.items():
        value = f"jr_.`{key}`"
        if kind == "JSON":
            value = f"CASE WHEN is_variant_null(jr_.`{key}`) THEN NULL ELSE to_json(jr_.`{key}`) END"
        parts.append(f"'{key}', {value}")
    return _spark_expr(
        f"transform(array(from_json({{x}}, {{schema}})), jr_ -> named_struct({', '.join(parts)}))[0]",
        x=x,
        schema=exp.Literal.string(schema),
    )


def json_functions(tree: exp.Expression) -> exp.Expression:
    """DuckDB's JSON functions through Spark's VARIANT: json_valid, json_type (DuckDB's type names),
    json_extract_string(x, '$'), json_transform(x, '{"field": "VARCHAR" | "JSON", …}'), to_json (null fields
    kept, as DuckDB writes them), and try(e) (the
    Spark forms here do not throw). Known difference: a JSON object repeating a key is read with its first
    value by DuckDB, its last by Spark."""

    def fix(node):
        name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
        if isinstance(node, exp.Try):  # the rewrite of what it wraps (a replaced node is not visited again)
            return node.this.transform(fix)
        if name == "json_valid":
            (x,) = node.expressions
            return _spark_expr(
                "CASE WHEN {x} IS NULL THEN NULL ELSE try_parse_json({x}) IS NOT NULL END", x=x
            )
        if isinstance(node, exp.JSONType):
            return _spark_expr(_JSON_TYPE, x=node.this.transform(fix))
        if isinstance(node, exp.JSONExtractScalar) and node.expression.sql() in ("'$'",):
            return _spark_expr("variant_get(try_parse_json({x}), '$', 'string')", x=node.this.transform(fix))
        if name == "to_json" and len(node.expressions) == 1:  # DuckDB writes null fields; Spark drops them
            return _spark_expr(
                "to_json({x}, map('ignoreNullFields', 'false'))", x=node.expressions[0].transform(fix)
            )
        if name == "json_transform":
            x, spec = node.expressions
            return _json_transform(x.transform(fix), spec.name)
        return node

    return tree.transform(fix)


def time_functions(tree: exp.Expression) -> exp.Expression:
    """epoch(t) keeps the fraction of a second (Spark's unix_timestamp drops it); to_timestamp(seconds)
    likewise (timestamp_seconds)."""

    def fix(node):
        if isinstance(node, exp.TimeToUnix):
            return _spark_expr("unix_micros({t}) / 1000000.0", t=node.this)
        if isinstance(node, exp.UnixToTime):
            return _spark_expr("timestamp_seconds({t})", t=node.this)
        return node

    return tree.transform(fix)


def list_functions(tree: exp.Expression) -> exp.Expression:
    """len(list) → size(list) (every len/length of the statements that is not over text is over a list:
    a list-producing argument decides); list_position(l, x) → array_position (DuckDB: NULL when absent,
    Spark: 0); list(x ORDER BY k) → the values of the sorted (k, x) structs; try_cast(text AS VARCHAR[]) →
    from_json(text, 'array<string>') (NULL when the text is not a JSON list)."""

    def fix(node):
        name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
        if isinstance(node, exp.Length) and _is_list(node.this):
            return _spark_expr("size({l})", l=node.this)
        if name == "strlen":
            return _spark_expr("octet_length({s})", s=node.expressions[0])
        if name == "list_position":
            arr, x = node.expressions
            return _spark_expr("nullif(array_position({a}, {x}), 0)", a=arr, x=x)
        if isinstance(node, exp.PercentileDisc) and node.expression is not None:
            # quantile_disc(x, q): the ceil(n·q)-th smallest, as Spark's ordered-set form computes it
            ordered = exp.Order(expressions=[exp.Ordered(this=node.this.transform(fix))])
            return exp.WithinGroup(this=_func("percentile_disc", node.expression), expression=ordered)
        if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.ARRAY):
            # text to a list: DuckDB reads '["en", "fr"]'; Spark casts no string to an array
            return _spark_expr(f"from_json({{x}}, '{_spark(node.to).lower()}')", x=node.this.transform(fix))
        if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
            order = node.this
            keys = [o.this for o in order.expressions]
            slots = {f"k{i}": k for i, k in enumerate(keys)} | {"v": order.this}
            fields = ", ".join(f"'k{i}', {{k{i}}}" for i in range(len(keys)))
            return _spark_expr(
                f"transform(array_sort(collect_list(named_struct({fields}, 'v', {{v}}))), s -> s.v)", **slots
            )
        return node

    return tree.transform(fix)


def _is_list(node: exp.Expression) -> bool:
    if isinstance(node, exp.Column):
        return node.name in _LIST_COLUMNS
    return isinstance(node, exp.Array | exp.ArrayFilter | exp.Filter | exp.Transform)


# the columns the statements hold lists in (len() of them is a list's size)
_LIST_COLUMNS = {"missing_fields", "invalid_fields", "reasons", "type_invalid", "mapped_invalid"}


_UINT64_TEXT = (
    "CASE WHEN CAST({x} AS STRING) RLIKE '^[ ]*[+]?[0-9]+[ ]*$' "
    "AND try_cast({x} AS DECIMAL(38, 0)) <= 18446744073709551615 THEN try_cast({x} AS DECIMAL(20, 0)) END"
)


def integer_types(tree: exp.Expression) -> exp.Expression:
    """DuckDB's unsigned and 128-bit integers, which Spark lacks: try_cast(x AS UBIGINT) → a DECIMAL(20, 0)
    of a plain non-negative integer text up to 2^64 − 1 (else NULL); HUGEINT → DECIMAL(38, 0); hex of such
    a value and printf('%016x', v) → conv (which reads 64 bits unsigned, as DuckDB's hex of a UBIGINT)."""

    def is_ubigint(node):
        return isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.UBIGINT)

    def fix(node):
        if isinstance(node, exp.Hex) and is_ubigint(node.this):
            return _spark_expr("upper(conv(CAST({v} AS STRING), 10, 16))", v=node.this.transform(fix))
        if isinstance(node, exp.Anonymous) and node.name.lower() == "printf":
            fmt, value = node.expressions
            if fmt.name != "%016x":
                raise ValueError(f"printf({fmt.sql()}) has no Spark rewrite")
            return _spark_expr(
                "lpad(lower(conv(CAST({v} AS STRING), 10, 16)), 16, '0')", v=value.transform(fix)
            )
        if is_ubigint(node):
            return _spark_expr(_UINT64_TEXT, x=node.this.transform(fix))
        if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.INT128):
            return exp.Cast(this=node.this.transform(fix), to=exp.DataType.build("DECIMAL(38, 0)"))
        return node

    return tree.transform(fix)


def interval_and_zone(tree: exp.Expression) -> exp.Expression:
    """to_days(n) → make_dt_interval(n); timezone('UTC', t) → t (every Spark session runs in UTC,
    spark_warehouse.spark_config, so a timestamp's date is already its UTC date)."""

    def fix(node):
        if isinstance(node, exp.ToDays):
            return _spark_expr("make_dt_interval({n})", n=node.this.transform(fix))
        if isinstance(node, exp.Anonymous) and node.name.lower() == "timezone":
            zone, value = node.expressions
            if zone.name != "UTC":
                raise ValueError(f"timezone({zone.sql()}, …) has no Spark rewrite")
            return value.transform(fix)
        return node

    return tree.transform(fix)


def slices_and_row_structs(tree: exp.Expression) -> exp.Expression:
    """l[a:b] (1-based, inclusive) → slice(l, a, b − a + 1); a table alias used as a value (`e AS x`, the
    whole row as a struct) → struct(e.*)."""

    def fix(node):
        if (
            isinstance(node, exp.Bracket)
            and len(node.expressions) == 1
            and isinstance(node.expressions[0], exp.Slice)
        ):
            piece = node.expressions[0]
            return _spark_expr(
                "slice({l}, {a}, {b} - {a} + 1)", l=node.this.transform(fix), a=piece.this, b=piece.expression
            )
        if isinstance(node, exp.Select):
            aliases = {
                t.alias_or_name
                for t in [
                    *(node.args.get("from_") or node.args.get("from") or exp.From()).find_all(exp.Table),
                    *(j.this for j in node.args.get("joins") or []),
                ]
            }
            for projection in node.expressions:
                inner = projection.this if isinstance(projection, exp.Alias) else None
                if isinstance(inner, exp.Column) and not inner.table and inner.name in aliases:
                    inner.replace(_spark_expr(f"struct({inner.name}.*)"))
        return node

    return tree.transform(fix)


REWRITES: tuple[Callable[[exp.Expression], exp.Expression], ...] = (
    file_reads,
    json_functions,
    time_functions,
    list_functions,
    hash_buckets,  # before integer_types: it drops a bucket divisor's UBIGINT cast, which that would rewrite
    integer_types,
    interval_and_zone,
    slices_and_row_structs,
    regexp_full_match,
    ordered_float_aggregates,
    named_parameters,
)


# ------------------------------------------------------------------------------- stars, at run time
# DuckDB's `* EXCLUDE (…)` and `* REPLACE (… AS c)` need the columns behind the star, which only the session
# knows (a warehouse table's columns); Spark SQL has neither. `expand_stars` spells them out.


def _has_star_modifiers(tree: exp.Expression) -> bool:
    return any(s.args.get("except_") or s.args.get("replace") for s in tree.find_all(exp.Star))


def expand_stars(sql: str, table_columns: Callable[[str], list[str]]) -> str:
    """`sql` (Spark) with every `* EXCEPT (…)` / `* REPLACE (…)` spelled out as a column list; the columns
    of a warehouse table come from `table_columns`, those of a CTE or subquery from its own select list."""
    tree = sqlglot.parse_one(sql, read="spark")
    if not _has_star_modifiers(tree):
        return sql
    ctes = {cte.alias_or_name: cte.this for cte in tree.find_all(exp.CTE)}
    for select in list(tree.find_all(exp.Select)):
        projections = []
        for projection in select.expressions:
            if isinstance(projection, exp.Star) and (
                projection.args.get("except_") or projection.args.get("replace")
            ):
                projections += _spelled(
                    projection, _output_columns(select, ctes, table_columns, star_only=True)
                )
            else:
                projections.append(projection)
        select.set("expressions", projections)
    return tree.sql(dialect="spark")


def _spelled(star: exp.Star, columns: list[str]) -> list[exp.Expression]:
    dropped = {c.name for c in star.args.get("except_") or []}
    replaced = {a.alias: a for a in star.args.get("replace") or []}
    return [replaced.get(c, exp.column(c)) for c in columns if c not in dropped]


def _source_columns(source: exp.Expression, ctes: dict, table_columns) -> list[str]:
    if isinstance(source, exp.Subquery):
        return _query_columns(source.this, ctes, table_columns)
    if isinstance(source, exp.Table):
        if source.name in ctes:
            return _query_columns(ctes[source.name], ctes, table_columns)
        return list(table_columns(source.name))
    raise ValueError(f"cannot list the columns of {source.sql('spark')}")


def _query_columns(query: exp.Expression, ctes: dict, table_columns) -> list[str]:
    if isinstance(query, exp.Union | exp.Except | exp.Intersect):
        return _query_columns(query.this, ctes, table_columns)
    return _output_columns(query, ctes, table_columns, star_only=False)


def _output_columns(select: exp.Select, ctes: dict, table_columns, star_only: bool) -> list[str]:
    from_ = select.args.get("from_") or select.args.get("from")
    sources = [from_.this] if from_ else []
    sources += [join.this for join in select.args.get("joins") or []]
    star_columns = [c for source in sources for c in _source_columns(source, ctes, table_columns)]
    if star_only:
        return star_columns
    names: list[str] = []
    for projection in select.expressions:
        if isinstance(projection, exp.Star):
            names += [c if not isinstance(c, exp.Expression) else c.alias_or_name for c in star_columns]
            names = [n for n in names if n not in {e.name for e in projection.args.get("except_") or []}]
        elif isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
            source = next(s for s in sources if s.alias_or_name == projection.table)
            names += _source_columns(source, ctes, table_columns)
        else:
            names.append(projection.alias_or_name)
    return names


# ---------------------------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class SparkStatement:
    """A statement as the Spark session runs it.

    kind: query | create_table | replace_table_as | temp_table_as | view | temp_view | insert | update |
    delete | add_column | drop | function. `table` is the table it writes; `sql` the Spark SQL of its query
    part (kind query, *_as, view, insert) or of the whole statement (function); `columns` the DDL of a
    created table or added column; `insert_columns` the target columns an INSERT names; `where` and `set`
    the condition and assignments of an UPDATE or DELETE, as Spark SQL expressions."""

    name: str
    kind: str
    sql: str = ""
    table: str = ""
    columns: tuple[tuple[str, str], ...] = ()
    insert_columns: tuple[str, ...] = ()
    where: str = ""
    set: tuple[tuple[str, str], ...] = ()
    returning: str = ""
    stars: bool = False  # holds * EXCEPT / * REPLACE: expand_stars before running
    file_params: tuple[str, ...] = field(default=())
    override: bool = False


def _override_path(name: str) -> Traversable:
    return SQL_ROOT.joinpath(*f"{name}{SPARK_SUFFIX}".split("/"))


def spark_overrides() -> list[str]:
    """Statements with a hand-written Spark twin (`<name>.spark.sql`)."""
    return sql_names_ending(SPARK_SUFFIX)


def _spark(node: exp.Expression) -> str:
    return node.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)


def _type_ddl(kind: exp.DataType) -> str:
    if kind.is_type(exp.DataType.Type.JSON):
        return "STRING"
    return _spark(kind)


# Statements only DuckDB runs, by design, each with its reason (a test holds the list).
DUCKDB_ONLY = {
    "rate": "`showdown rate` reads one plain vote file on a scratch DuckDB (core/rate_file.py), not the warehouse",
    "warehouse/table_names": "the Spark session lists its tables from its own catalog (spark_warehouse.py)",
    "ingest/lines_from_staged_add": "Spark loads each staged file alone, never a batch of them (core/landing._Batch)",
    "ingest/lines_from_parquet_add": "Spark loads each staged file alone, never a batch of them (core/landing._Batch)",
}


def duckdb_only(name: str) -> str | None:
    """Why the statement `name` never runs on Spark, or None."""
    return DUCKDB_ONLY.get(name) or DUCKDB_ONLY.get(name.split("/")[0])


@functools.cache
def spark_statement(name: str) -> SparkStatement:
    """The statement `name` for Spark: its override if it has one, else its DuckDB text transpiled."""
    reason = duckdb_only(name)
    if reason:
        raise ValueError(f"{name} runs on DuckDB only: {reason}")
    path = _override_path(name)
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        if _FUNCTION.search(text):  # Spark's SQL functions, which sqlglot does not read: run as written
            return SparkStatement(name=name, kind="function", sql=text, override=True)
        tree = sqlglot.parse_one(text, read="spark")
        return _classify(name, tree, override=True)
    tree = sqlglot.parse_one(load_sql(name), read="duckdb")
    for rewrite in REWRITES:
        tree = rewrite(tree)
    return _classify(name, tree, override=False)


def _files(tree: exp.Expression) -> tuple[str, ...]:
    return tuple(
        sorted(
            {t.name.removeprefix("_file_") for t in tree.find_all(exp.Table) if t.name.startswith("_file_")}
        )
    )


def _classify(name: str, tree: exp.Expression, override: bool) -> SparkStatement:
    common = {
        "name": name,
        "file_params": _files(tree),
        "override": override,
        "stars": _has_star_modifiers(tree),
    }
    if isinstance(tree, exp.Query):
        return SparkStatement(kind="query", sql=_spark(tree), **common)
    if isinstance(tree, exp.Create):
        return _classify_create(tree, common)
    if isinstance(tree, exp.Insert):
        target = tree.this
        cols = ()
        if isinstance(target, exp.Schema):
            cols = tuple(c.name for c in target.expressions)
            target = target.this
        query = tree.expression
        return SparkStatement(
            kind="insert", table=target.name, sql=_spark(query), insert_columns=cols, **common
        )
    if isinstance(tree, exp.Delete):
        where = tree.args.get("where")
        returning = tree.args.get("returning")
        return SparkStatement(
            kind="delete",
            table=tree.this.name,
            where=_spark(where.this) if where else "TRUE",
            returning=", ".join(_spark(e) for e in returning.expressions) if returning else "",
            **common,
        )
    if isinstance(tree, exp.Update):
        where = tree.args.get("where")
        sets = tuple((eq.this.name, _spark(eq.expression)) for eq in tree.expressions)
        return SparkStatement(
            kind="update",
            table=tree.this.name,
            where=_spark(where.this) if where else "TRUE",
            set=sets,
            **common,
        )
    if isinstance(tree, exp.Alter):
        (action,) = tree.actions
        if not isinstance(action, exp.ColumnDef):
            raise ValueError(f"{name}: only ALTER TABLE … ADD COLUMN runs on Spark")
        return SparkStatement(
            kind="add_column",
            table=tree.this.name,
            columns=((action.name, _type_ddl(action.args["kind"])),),
            **common,
        )
    if isinstance(tree, exp.Drop):
        (table,) = tree.args["tables"]
        return SparkStatement(kind="drop", table=table.name, **common)
    raise ValueError(f"{name}: a {type(tree).__name__} statement has no Spark form")


def _classify_create(tree: exp.Create, common: dict) -> SparkStatement:
    kind = (tree.args.get("kind") or "").upper()
    temporary = bool(tree.find(exp.TemporaryProperty)) or "TEMPORARY" in (tree.args.get("kind") or "")
    target = tree.this
    if isinstance(target, exp.Schema):
        columns = tuple(
            (c.name, _type_ddl(c.args["kind"])) for c in target.expressions if isinstance(c, exp.ColumnDef)
        )
        return SparkStatement(
            kind="create_table" if tree.args.get("exists") else "replace_table",
            table=target.this.name,
            columns=columns,
            **common,
        )
    query = tree.expression
    if kind == "VIEW":
        return SparkStatement(
            kind="temp_view" if temporary else "view", table=target.name, sql=_spark(query), **common
        )
    if kind == "TABLE":
        return SparkStatement(
            kind="temp_table_as" if temporary else "replace_table_as",
            table=target.name,
            sql=_spark(query),
            **common,
        )
    raise ValueError(f"{common['name']}: CREATE {kind} has no Spark form")
