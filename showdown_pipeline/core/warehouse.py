"""The warehouse seam: every statement the pipeline runs goes through a `WarehouseSession`.

Callers name a statement (`"validate/votes_checked"`, a file under `showdown_pipeline/sql/`) and bind
values; they never hold SQL text, never read result rows by position, and never touch the engine's
connection. Results come back as Arrow tables (large) or as dicts by column name (small). This is the one
place an engine plugs in: DuckDB here; another engine (Spark) implements the same methods.

Table names that reach the engine outside a SQL file (`replace_table`, `read_table`) are identifiers
chosen by code, checked against `TABLE_NAME`; values are always bound parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from showdown_pipeline.core.sql import load_sql, prepare_connection

TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class WarehouseError(RuntimeError):
    """A statement the warehouse refused (wraps the engine's own error, with the statement's name)."""


def checked_table_name(name: str) -> str:
    if not TABLE_NAME.match(name):
        raise ValueError(f"not a table name the pipeline writes: {name!r}")
    return name


class WarehouseSession(Protocol):
    """One session on the warehouse: temporary views and transactions live as long as it does."""

    engine: str

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> None:
        """Execute the statement `name` for its effect (DDL, INSERT, CREATE OR REPLACE …)."""

    def query(self, name: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """The statement's result as an Arrow table."""

    def rows(self, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """A small result as one dict per row, by column name."""

    def one(self, name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A result of exactly one row, by column name."""

    def replace_table(self, table: str, data: pa.Table) -> None:
        """Create or replace the warehouse table `table` with `data`."""

    def read_table(self, table: str) -> pa.Table:
        """A whole (small) table, e.g. a published board."""

    def table_names(self) -> set[str]:
        """Tables that exist in the warehouse."""

    def registered(self, name: str, data: pa.Table):
        """A context manager: `data` readable as the view `name` by statements of this session."""

    def transaction(self):
        """A context manager: every statement inside commits together, or none does."""


class DuckDBSession:
    """`WarehouseSession` on one DuckDB connection."""

    engine = "duckdb"

    def __init__(self, conn: duckdb.DuckDBPyConnection):
        self.conn = conn

    def _execute(self, name: str, params: Mapping[str, Any] | None):
        try:
            return self.conn.execute(load_sql(name), dict(params or {}))
        except duckdb.Error as exc:
            raise WarehouseError(f"{name}: {exc}") from exc

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> None:
        self._execute(name, params)

    def query(self, name: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        try:
            return self.conn.sql(load_sql(name), params=dict(params or {}) or None).to_arrow_table()
        except duckdb.Error as exc:
            raise WarehouseError(f"{name}: {exc}") from exc

    def rows(self, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.query(name, params).to_pylist()

    def one(self, name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        rows = self.rows(name, params)
        if len(rows) != 1:
            raise WarehouseError(f"{name}: expected one row, got {len(rows)}")
        return rows[0]

    def replace_table(self, table: str, data: pa.Table) -> None:
        view = f"_replace_{checked_table_name(table)}"
        self.conn.register(view, data)
        try:
            self.conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {view}")  # noqa: S608 - checked name
        finally:
            self.conn.unregister(view)

    def read_table(self, table: str) -> pa.Table:
        return self.conn.sql(f"SELECT * FROM {checked_table_name(table)}").to_arrow_table()  # noqa: S608

    def table_names(self) -> set[str]:
        return {r["table_name"] for r in self.rows("warehouse/table_names")}

    @contextmanager
    def registered(self, name: str, data: pa.Table) -> Iterator[None]:
        self.conn.register(checked_table_name(name), data)
        try:
            yield
        finally:
            self.conn.unregister(name)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")


@contextmanager
def duckdb_session(database: str | Path, config: Mapping[str, str] | None = None, read_only: bool = False):
    """A session on the DuckDB file `database` (":memory:" for a scratch one) with the pipeline's settings."""
    conn = duckdb.connect(str(database), read_only=read_only, config=dict(config or {}))
    try:
        prepare_connection(conn)
        yield DuckDBSession(conn)
    finally:
        conn.close()
