"""`WarehouseSession` on Apache Spark (SHOWDOWN_ENGINE=spark): the same statements, by name, on a cluster.

Statements come from core/spark_sql.py (DuckDB SQL transpiled, or a `.spark.sql` override). Queries run as
Spark SQL with named parameter markers bound by `spark.sql(text, args=...)`. Tables are plain Parquet that
Spark writes, no extra jars: Spark's own catalog cannot replace, update or delete rows of a Parquet table,
and has no transactions, so this module keeps a small catalog of its own.

The catalog (`catalog.json` in the table root) names, for each table, its schema and the Parquet folders
("parts") that hold its rows. Every write goes to a new folder nobody reads yet: a replace writes one new
folder and points the table at it; an INSERT adds one folder to the table's parts; UPDATE and DELETE rewrite
the table into a new folder. Readers see a table through a temporary view over its parts, so a statement
never reads a half-written folder.

Transactions. Outside `transaction()`, each statement publishes its change to the catalog when it ends.
Inside, changes are kept in the session (its own statements see them) and published together at the end:
the new catalog is written to a temporary file, fsynced, and renamed over `catalog.json` (one atomic rename),
under an exclusive file lock, re-applying this session's changes to the catalog as it is then. A block that
fails publishes nothing and deletes the folders it wrote.

A kill mid-write. The catalog still names the folders of the last published state, so every reader sees
that state whole; the killed writer leaves folders the catalog does not name. `repair()` (run when a run
starts, under the home's lock, so no writer is alive) deletes them. The DuckDB path is untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from showdown_pipeline.core.spark_sql import SparkStatement, expand_stars, spark_statement
from showdown_pipeline.core.sql import rule_relations
from showdown_pipeline.core.warehouse import (
    FILE_FORMATS,
    RowResults,
    WarehouseError,
    checked_table_name,
    slice_rows,
    slices_of,
)
from showdown_pipeline.settings import spark_on_this_machine

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

CATALOG = "catalog.json"
LOG = logging.getLogger("showdown_pipeline.spark")  # each statement and its wall time, at DEBUG
TABLES = "tables"


def spark_config(
    master: str, local_dir: Path | None = None, driver_memory: str | None = None
) -> dict[str, str]:
    """The settings every pipeline Spark session shares (the Dagster resource passes them to
    dagster-pyspark). Spark's defaults that would make it disagree with DuckDB are set here, once:
    UTC, non-ANSI arithmetic (x / 0 is NULL, as in DuckDB), JSON objects whose keys repeat still parse."""
    config = {
        "spark.master": master,
        "spark.app.name": "showdown",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",
        "spark.sql.shuffle.partitions": os.environ.get("SHOWDOWN_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.sql.variant.allowDuplicateKeys": "true",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        # a part is published by the catalog, not by a marker file: no _SUCCESS, one rename per task file
        "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
        "spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version": "2",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    if spark_on_this_machine(master):  # nothing listens beyond this machine
        config |= {"spark.driver.bindAddress": "127.0.0.1", "spark.driver.host": "127.0.0.1"}
    if local_dir is not None:
        config["spark.local.dir"] = str(local_dir)
        # Spark makes its default database's folder on first use of the catalog, in the working directory
        # unless told otherwise: a `spark-warehouse/` left wherever `showdown` was run. Ours is unused (the
        # engine keeps its own catalog): it goes under the local folder.
        config["spark.sql.warehouse.dir"] = str(local_dir / "sql-warehouse")
    if driver_memory is not None:  # settings.spark_driver_memory_from_env; only a JVM's start reads it
        config["spark.driver.memory"] = driver_memory
    return config


def repair(root: Path) -> list[str]:
    """Delete table folders the catalog does not name (left by a writer that was killed); call only while no
    writer is alive (the home's lock). Returns the folders removed."""
    catalog = _read_catalog(root)
    named = {part for entry in catalog["tables"].values() for part in entry["parts"]}
    removed = []
    tables = root / TABLES
    if not tables.is_dir():
        return removed
    for folder in sorted(tables.glob("*/*")):
        rel = folder.relative_to(root).as_posix()
        if rel not in named:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(rel)
    return removed


def _read_catalog(root: Path) -> dict:
    path = root / CATALOG
    if not path.is_file():
        return {"tables": {}, "views": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def _write_catalog(root: Path, catalog: dict) -> None:
    tmp = root / f".{CATALOG}.{uuid.uuid4().hex}"
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(catalog, out, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, root / CATALOG)
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SparkWarehouseSession(RowResults):
    """`WarehouseSession` on a Spark session (its own temporary views) over the table root `root`."""

    engine = "spark"

    def __init__(self, spark: SparkSession, root: Path):
        self.spark = spark
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._catalog = _read_catalog(self.root)
        self._pending: list[tuple[str, str, Any]] | None = None  # (op, table, value) inside a transaction
        self._written: list[str] = []  # folders written inside the transaction
        self._temp: set[str] = set()
        for name, table in rule_relations().items():
            self._view(name, self._frame(table))
        for table in self._catalog["tables"]:
            self._register(table)
        for view, statement in self._catalog["views"].items():
            self._view(view, self.spark.sql(spark_statement(statement).sql))

    # ------------------------------------------------------------------ the protocol

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> None:
        statement = spark_statement(name)
        started = time.monotonic()
        try:
            with self._files(statement, params):
                self._carry_out(statement, params or {})
            LOG.debug("%s (%s) %.2f s", name, statement.kind, time.monotonic() - started)
        except WarehouseError:
            raise
        except Exception as exc:  # Spark raises py4j and pyspark errors of many kinds
            raise WarehouseError.wrapping(name, exc) from exc

    def query(self, name: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        statement = spark_statement(name)
        if statement.kind != "query" and not statement.returning:
            raise WarehouseError(name, f"a {statement.kind} statement returns no rows")
        started = time.monotonic()
        try:
            with self._files(statement, params):
                if statement.returning:  # DELETE … RETURNING: the rows it removes, then the removal
                    removed = self._sql(
                        f"SELECT {statement.returning} FROM {statement.table} "  # noqa: S608 - parsed names
                        f"WHERE coalesce(({statement.where}), FALSE)",
                        params,
                    ).toArrow()
                    if removed.num_rows:
                        self._rewrite(statement, params or {})
                    return removed
                result = self._sql(statement.sql, params).toArrow()
                LOG.debug("%s (query) %.2f s", name, time.monotonic() - started)
                return result
        except Exception as exc:
            raise WarehouseError.wrapping(name, exc) from exc

    def query_slices(
        self, name: str, params: Mapping[str, Any] | None = None, rows: int = 1_000_000
    ) -> Iterator[pa.Table]:
        """The result computed once and kept on the executors' disks while it is read, split round-robin
        into partitions of at most `rows` rows, each collected alone (a collect of the whole result would
        hold it all in the driver, and above `spark.driver.maxResultSize`, 1 GB by default, fail); cut into
        slices of `rows`. In no set order."""
        slice_rows(rows)
        statement = spark_statement(name)
        if statement.kind != "query" or statement.returning:
            raise WarehouseError(name, f"a {statement.kind} statement is not read in slices")
        try:
            with self._files(statement, params):
                yield from self._partitions_in_slices(self._sql(statement.sql, params), rows)
        except WarehouseError:
            raise
        except Exception as exc:
            raise WarehouseError.wrapping(name, exc) from exc

    def _partitions_in_slices(self, frame: DataFrame, rows: int) -> Iterator[pa.Table]:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        kept = frame.persist(StorageLevel.DISK_ONLY)
        try:
            parts = max(1, -(-kept.count() // rows))
            spread = kept.repartition(parts).persist(StorageLevel.DISK_ONLY)  # round-robin: even parts
            try:
                schema = spread.limit(0).toArrow().schema
                pieces = (
                    batch
                    for part in range(parts)
                    for batch in spread.where(F.spark_partition_id() == part).toArrow().to_batches()
                )
                yield from slices_of(schema, pieces, rows)
            finally:
                spread.unpersist()
        finally:
            kept.unpersist()

    def replace_table(self, table: str, data: pa.Table | pd.DataFrame) -> None:
        try:
            self._replace(checked_table_name(table), self._frame(data))
        except Exception as exc:
            raise WarehouseError.wrapping(f"replace_table {table}", exc) from exc

    def swap_table(self, source: str, target: str) -> None:
        """The catalog names `source`'s parts as `target` and forgets `source`: one catalog change, no copy."""
        source, target = checked_table_name(source), checked_table_name(target)
        entry = self._state()["tables"].get(source)
        if entry is None:
            raise WarehouseError(f"swap_table {source} {target}", f"no stored table {source}")
        try:
            self._changes([("set", target, entry), ("drop", source, None)])
            self.spark.catalog.dropTempView(source)
        except Exception as exc:
            raise WarehouseError.wrapping(f"swap_table {source} {target}", exc) from exc

    def append_table(self, source: str, target: str) -> None:
        """`source`'s rows written as a new part of `target` (columns by name, cast to `target`'s types, a
        column `source` lacks NULL, as DuckDB's INSERT … BY NAME), then `source` forgotten, in one change."""
        source, target = checked_table_name(source), checked_table_name(target)
        try:
            rows, into = self.spark.table(source), self.spark.table(target)
            unknown = sorted(set(rows.columns) - set(into.columns))
            if unknown:
                raise WarehouseError(f"append_table {source} {target}", f"{target} has no column {unknown}")
            part = self._part(target, _conformed(rows, into.schema))
            self._changes([("append", target, part), ("drop", source, None)])
            self.spark.catalog.dropTempView(source)
        except WarehouseError:
            raise
        except Exception as exc:
            raise WarehouseError.wrapping(f"append_table {source} {target}", exc) from exc

    def read_table(self, table: str) -> pa.Table:
        try:
            return self.spark.table(checked_table_name(table)).toArrow()
        except Exception as exc:
            raise WarehouseError.wrapping(f"read_table {table}", exc) from exc

    def table_names(self) -> set[str]:
        return set(self._state()["tables"])

    @contextmanager
    def registered(self, name: str, data: pa.Table | pd.DataFrame) -> Iterator[None]:
        self._view(checked_table_name(name), self._frame(data))
        try:
            yield
        finally:
            self.spark.catalog.dropTempView(name)

    @contextmanager
    def file_view(self, name: str, path: Path, file_format: str) -> Iterator[None]:
        if file_format not in FILE_FORMATS:
            raise ValueError(f"file_view reads {', '.join(FILE_FORMATS)}, not {file_format!r}")
        reader = self.spark.read
        try:
            if file_format == "parquet":
                frame = reader.parquet(str(path))
            elif file_format == "json":
                frame = reader.json(str(path))
            else:
                frame = reader.option("header", True).option("inferSchema", False).csv(str(path))
            self._view(checked_table_name(name), frame)
        except Exception as exc:
            raise WarehouseError.wrapping(f"file_view {name}", exc) from exc
        try:
            yield
        finally:
            self.spark.catalog.dropTempView(name)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._pending is not None:
            raise WarehouseError("BEGIN", "a transaction is already open")
        self._pending, self._written = [], []
        try:
            yield
        except BaseException:
            self._rollback()
            raise
        pending, self._pending = self._pending, None
        try:
            self._publish(pending)
        except Exception as exc:
            self._pending = []
            self._rollback()
            raise WarehouseError.wrapping("COMMIT", exc) from exc

    # ------------------------------------------------------------------ statements

    def _carry_out(self, s: SparkStatement, params: Mapping[str, Any]) -> None:
        kind = s.kind
        if kind == "query":
            self._sql(s.sql, params).collect()
        elif kind == "function":
            self.spark.sql(s.sql)
        elif kind in ("create_table", "replace_table"):
            if kind == "create_table" and s.table in self._state()["tables"]:
                return
            from pyspark.sql.types import StructType

            ddl = ", ".join(f"`{c}` {t}" for c, t in s.columns)
            self._change("set", s.table, {"schema": StructType.fromDDL(ddl).json(), "parts": []})
        elif kind == "replace_table_as":
            self._replace(s.table, self._sql(s.sql, params))
        elif kind == "temp_table_as":
            self._view(s.table, self._sql(s.sql, params).localCheckpoint(eager=True))
            self._temp.add(s.table)
        elif kind == "temp_view":
            self._view(s.table, self._sql(s.sql, params))
        elif kind == "view":
            if params:
                raise WarehouseError(s.name, "a stored view takes no parameters")
            self._view(s.table, self._sql(s.sql, None))
            self._change("view", s.table, s.name)
        elif kind == "insert":
            self._insert(s, params)
        elif kind in ("update", "delete"):
            self._rewrite(s, params)
        elif kind == "add_column":
            self._add_column(s)
        elif kind == "drop":
            self._drop(s.table)
        else:  # pragma: no cover - spark_sql classifies every statement into one of the kinds above
            raise WarehouseError(s.name, f"unknown statement kind {kind}")

    def _insert(self, s: SparkStatement, params: Mapping[str, Any]) -> None:
        target = self.spark.table(s.table)
        frame = self._sql(s.sql, params)
        names = list(s.insert_columns) or target.columns[: len(frame.columns)]
        self._append(s.table, _conformed(frame.toDF(*names), target.schema))

    def _rewrite(self, s: SparkStatement, params: Mapping[str, Any]) -> None:
        """UPDATE or DELETE: the table rewritten into a new part, only when some row matches (a rewrite is a
        Spark job and a whole new copy)."""
        if not self._state()["tables"][s.table]["parts"]:
            return
        matches = f"SELECT 1 FROM {s.table} WHERE coalesce(({s.where}), FALSE) LIMIT 1"  # noqa: S608
        if not self._sql(matches, params).take(1):
            return
        target = self.spark.table(s.table)
        if s.kind == "delete":
            text = f"SELECT * FROM {s.table} WHERE NOT coalesce(({s.where}), FALSE)"  # noqa: S608
        else:
            assigned = dict(s.set)
            columns = ", ".join(
                f"CASE WHEN coalesce(({s.where}), FALSE) THEN CAST(({assigned[c]}) AS {f.dataType.simpleString()}) "
                f"ELSE `{c}` END AS `{c}`"
                if (c := f.name) in assigned
                else f"`{c}`"
                for f in target.schema.fields
            )
            text = f"SELECT {columns} FROM {s.table}"  # noqa: S608 - names from the parsed statement
        self._replace(s.table, self._sql(text, params))

    def _add_column(self, s: SparkStatement) -> None:
        from pyspark.sql import functions as F

        ((column, ddl),) = s.columns
        target = self.spark.table(s.table)
        if column in target.columns:
            return
        # a schema change only: the table is read with its catalog schema, and Parquet parts written before
        # the column existed read it as NULL
        schema = target.withColumn(column, F.lit(None).cast(ddl)).schema
        entry = self._state()["tables"][s.table]
        self._change("set", s.table, {**entry, "schema": schema.json()})

    def _drop(self, table: str) -> None:
        if table in self._temp:
            self.spark.catalog.dropTempView(table)
            self._temp.discard(table)
        elif table in self._state()["tables"]:
            self._change("drop", table, None)
            self.spark.catalog.dropTempView(table)

    # ------------------------------------------------------------------ the table store

    def _part(self, table: str, frame: DataFrame) -> str:
        rel = f"{TABLES}/{table}/{uuid.uuid4().hex}"
        if self._pending is not None:
            self._written.append(rel)
        frame.write.mode("errorifexists").parquet(str(self.root / rel))
        return rel

    def _replace(self, table: str, frame: DataFrame) -> None:
        entry = {"schema": frame.schema.json(), "parts": [self._part(table, frame)]}
        self._change("set", table, entry)

    def _append(self, table: str, frame: DataFrame) -> None:
        self._change("append", table, self._part(table, frame))

    def _change(self, op: str, table: str, value: Any) -> None:
        self._changes([(op, table, value)])

    def _changes(self, changes: list[tuple[str, str, Any]]) -> None:
        """Changes of the catalog, published together (or kept with the open transaction's)."""
        if self._pending is not None:
            self._pending.extend(changes)
        else:
            self._publish(changes)
        for op, table, _ in changes:
            if op in ("set", "append"):
                self._register(table)

    def _publish(self, changes: list[tuple[str, str, Any]]) -> None:
        with open(self.root / ".catalog.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            catalog = _apply(_read_catalog(self.root), changes)
            _write_catalog(self.root, catalog)
        self._catalog = catalog

    def _rollback(self) -> None:
        self._pending = None
        for rel in self._written:
            shutil.rmtree(self.root / rel, ignore_errors=True)
        self._written = []
        for table in self._catalog["tables"]:
            self._register(table)

    def _state(self) -> dict:
        return _apply(self._catalog, self._pending or [])

    def _register(self, table: str) -> None:
        from pyspark.sql.types import StructType

        entry = self._state()["tables"].get(table)
        if entry is None:
            return
        schema = StructType.fromJson(json.loads(entry["schema"]))
        paths = [str(self.root / p) for p in entry["parts"]]
        if not paths:
            self._view(table, self.spark.createDataFrame([], schema))
            return
        self._view(table, self.spark.read.schema(schema).parquet(*paths))

    # ------------------------------------------------------------------ helpers

    def _view(self, name: str, frame: DataFrame) -> None:
        frame.createOrReplaceTempView(name)

    def _frame(self, data: pa.Table | pa.RecordBatchReader | pd.DataFrame) -> DataFrame:
        if isinstance(data, pa.RecordBatchReader):  # Spark takes a whole table (sent to the JVM as Arrow)
            data = data.read_all()
        if not isinstance(data, pa.Table):
            data = pa.Table.from_pandas(data, preserve_index=False)
        return self.spark.createDataFrame(data)

    def _sql(self, text: str, params: Mapping[str, Any] | None) -> DataFrame:
        if " EXCEPT (" in text or " REPLACE (" in text:  # DuckDB's star modifiers, spelled out
            text = expand_stars(text, lambda table: self.spark.table(table).columns)
        return self.spark.sql(text, args=spark_args(params) or None)

    @contextmanager
    def _files(self, s: SparkStatement, params: Mapping[str, Any] | None) -> Iterator[None]:
        for param in s.file_params:
            path = (params or {})[param]
            self._view(f"_file_{param}", self.spark.read.parquet(_unescaped(path)))
        try:
            yield
        finally:
            for param in s.file_params:
                self.spark.catalog.dropTempView(f"_file_{param}")


def _unescaped(path: str) -> str:
    """The staged path as DuckDB's glob-escaped literal (staging.duckdb_literal), back to the path."""
    return str(path).replace("[[]", "[").replace("[*]", "*").replace("[?]", "?")


def _conformed(frame: DataFrame, schema) -> DataFrame:
    """`frame`'s columns by name, in `schema`'s order and cast to its types; a column `frame` lacks is NULL
    (as DuckDB's INSERT … BY NAME fills it)."""
    from pyspark.sql import functions as F

    present = set(frame.columns)
    return frame.select(
        *(
            (F.col(f"`{f.name}`") if f.name in present else F.lit(None)).cast(f.dataType).alias(f.name)
            for f in schema.fields
        )
    )


def _apply(catalog: dict, changes: list[tuple[str, str, Any]]) -> dict:
    tables = {k: dict(v) for k, v in catalog["tables"].items()}
    views = dict(catalog.get("views", {}))
    for op, table, value in changes:
        if op == "set":
            tables[table] = value
        elif op == "append":
            tables[table] = {**tables[table], "parts": [*tables[table]["parts"], value]}
        elif op == "drop":
            tables.pop(table, None)
        elif op == "view":
            views[table] = value
    return {"tables": tables, "views": views}


def spark_args(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Bound values as Spark literals: lists become arrays, bytes binary, dates and times as they are."""
    from pyspark.sql import functions as F

    args: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if isinstance(value, list | tuple):
            # only literals and constructors may be bound (no cast): an empty list is array<void>, which
            # Spark compares with any element type, as DuckDB compares its empty list
            args[key] = F.array(*[F.lit(v) for v in value])
        elif isinstance(value, bytes | bytearray):
            args[key] = F.lit(bytearray(value))
        elif isinstance(value, datetime | date) or value is None:
            args[key] = F.lit(value)
        else:
            args[key] = value
    return args


@contextmanager
def spark_session(spark: SparkSession, root: Path) -> Iterator[SparkWarehouseSession]:
    """A warehouse session on its own Spark session (its temporary views are its own) sharing `spark`'s
    context; the temporary views go when the block ends."""
    own = spark.newSession()
    try:
        yield SparkWarehouseSession(own, root)
    finally:
        with contextlib.suppress(Exception):
            for view in own.catalog.listTables():
                if view.isTemporary:
                    own.catalog.dropTempView(view.name)
