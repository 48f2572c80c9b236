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
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable

import sqlglot
from sqlglot import exp

from showdown_pipeline.core.sql import SQL_ROOT, load_sql

SPARK_SUFFIX = ".spark.sql"


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


REWRITES: tuple[Callable[[exp.Expression], exp.Expression], ...] = (
    file_reads,
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
        tree = sqlglot.parse_one(path.read_text(encoding="utf-8"), read="spark")
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
        return SparkStatement(
            kind="delete", table=tree.this.name, where=_spark(where.this) if where else "TRUE", **common
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
    if kind == "FUNCTION":  # an override's CREATE TEMPORARY FUNCTION … RETURN: run as written
        return SparkStatement(kind="function", sql=_spark(tree), **common)
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
