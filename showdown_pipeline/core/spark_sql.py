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

from showdown_pipeline.core.sql import SQL_ROOT, load_sql

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
        if isinstance(node, exp.AggFunc) and isinstance(node.this, exp.Order) and not isinstance(
            node, exp.ArrayAgg | exp.GroupConcat
        ):
            node.set("this", node.this.this)
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
# beyond 64 bits are DOUBLE.
_JSON_TYPE = """CASE
    WHEN {x} IS NULL OR try_parse_json({x}) IS NULL THEN NULL
    WHEN schema_of_variant(try_parse_json({x})) LIKE 'OBJECT%' THEN 'OBJECT'
    WHEN schema_of_variant(try_parse_json({x})) LIKE 'ARRAY%' THEN 'ARRAY'
    WHEN schema_of_variant(try_parse_json({x})) = 'STRING' THEN 'VARCHAR'
    WHEN schema_of_variant(try_parse_json({x})) = 'BOOLEAN' THEN 'BOOLEAN'
    WHEN schema_of_variant(try_parse_json({x})) = 'VOID' THEN 'NULL'
    WHEN schema_of_variant(try_parse_json({x})) IN ('TINYINT', 'SMALLINT', 'INT', 'BIGINT')
        THEN CASE WHEN variant_get(try_parse_json({x}), '$', 'bigint') < 0 THEN 'BIGINT' ELSE 'UBIGINT' END
    WHEN schema_of_variant(try_parse_json({x})) LIKE 'DECIMAL(%,0)'
        AND try_cast(variant_get(try_parse_json({x}), '$', 'string') AS DECIMAL(38, 0)) BETWEEN 0 AND 18446744073709551615
        THEN 'UBIGINT'
    ELSE 'DOUBLE'
END"""


def _json_field(v: exp.Expression, key: str, kind: str) -> exp.Expression:
    path = exp.Literal.string(f"$.{key}")
    if kind == "JSON":  # the value's JSON text (strings keep their quotes), NULL for null or absent
        return _spark_expr(
            "CASE WHEN is_variant_null(variant_get({v}, {p})) THEN NULL ELSE to_json(variant_get({v}, {p})) END",
            v=v,
            p=path,
        )
    if kind != "VARCHAR":
        raise ValueError(f"json_transform to {kind} has no Spark rewrite")
    return _spark_expr(
        "CASE WHEN is_variant_null(variant_get({v}, {p})) THEN NULL "
        "WHEN schema_of_variant(variant_get({v}, {p})) IN ('STRING') THEN variant_get({v}, {p}, 'string') "
        "ELSE to_json(variant_get({v}, {p})) END",
        v=v,
        p=path,
    )


def json_functions(tree: exp.Expression) -> exp.Expression:
    """DuckDB's JSON functions through Spark's VARIANT (parse_json): json_valid, json_type (DuckDB's type
    names), json_extract_string(x, '$'), json_transform(x, '{"field": "VARCHAR" | "JSON", …}') (a struct:
    VARCHAR fields as text, strings unquoted; JSON fields as JSON text; null and absent as NULL), and
    try(e) (Spark's variant functions here do not throw)."""

    def fix(node):
        name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
        if isinstance(node, exp.Try):  # the rewrite of what it wraps (a replaced node is not visited again)
            return node.this.transform(fix)
        if name == "json_valid":
            (x,) = node.expressions
            return _spark_expr("CASE WHEN {x} IS NULL THEN NULL ELSE try_parse_json({x}) IS NOT NULL END", x=x)
        if isinstance(node, exp.JSONType):
            return _spark_expr(_JSON_TYPE, x=node.this)
        if isinstance(node, exp.JSONExtractScalar) and node.expression.sql() in ("'$'",):
            return _spark_expr("variant_get(try_parse_json({x}), '$', 'string')", x=node.this)
        if name == "json_transform":
            x, spec = node.expressions
            v = _spark_expr("try_parse_json({x})", x=x)
            fields = json.loads(spec.name)
            args: list[exp.Expression] = []
            for key, kind in fields.items():
                args += [exp.Literal.string(key), _json_field(v, key, kind)]
            return exp.Anonymous(this="named_struct", expressions=args)
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
    Spark: 0); list(x ORDER BY k) → the values of the sorted (k, x) structs."""

    def fix(node):
        name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
        if isinstance(node, exp.Length) and _is_list(node.this):
            return _spark_expr("size({l})", l=node.this)
        if name == "strlen":
            return _spark_expr("octet_length({s})", s=node.expressions[0])
        if name == "list_position":
            arr, x = node.expressions
            return _spark_expr("nullif(array_position({a}, {x}), 0)", a=arr, x=x)
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


REWRITES: tuple[Callable[[exp.Expression], exp.Expression], ...] = (
    file_reads,
    json_functions,
    time_functions,
    list_functions,
    regexp_full_match,
    ordered_float_aggregates,
    named_parameters,
)


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
    file_params: tuple[str, ...] = field(default=())
    override: bool = False


def _override_path(name: str) -> Traversable:
    return SQL_ROOT.joinpath(*f"{name}{SPARK_SUFFIX}".split("/"))


def spark_overrides() -> list[str]:
    """Statements with a hand-written Spark twin (`<name>.spark.sql`)."""
    return sorted(
        f"{stage.name}/{file.name.removesuffix(SPARK_SUFFIX)}"
        for stage in SQL_ROOT.iterdir()
        if stage.is_dir()
        for file in stage.iterdir()
        if file.name.endswith(SPARK_SUFFIX)
    )


def _spark(node: exp.Expression) -> str:
    return node.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)


def _type_ddl(kind: exp.DataType) -> str:
    if kind.is_type(exp.DataType.Type.JSON):
        return "STRING"
    return _spark(kind)


@functools.cache
def spark_statement(name: str) -> SparkStatement:
    """The statement `name` for Spark: its override if it has one, else its DuckDB text transpiled."""
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
        sorted({t.name.removeprefix("_file_") for t in tree.find_all(exp.Table) if t.name.startswith("_file_")})
    )


def _classify(name: str, tree: exp.Expression, override: bool) -> SparkStatement:
    common = {"name": name, "file_params": _files(tree), "override": override}
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
