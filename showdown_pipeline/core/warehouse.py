"""The warehouse seam: every statement the pipeline runs goes through a `WarehouseSession`.

Callers name a statement (`"validate/votes_checked"`, a file under `showdown_pipeline/sql/`) and bind
values; they never hold SQL text, never read result rows by position, and never touch the engine's
connection. Results come back as Arrow tables (large) or as dicts by column name (small). This is the one
place an engine plugs in: DuckDB here; another engine (Spark) implements the same methods.

Table names that reach the engine outside a SQL file (`replace_table`, `read_table`, `registered`,
`file_view`) are identifiers chosen by code, checked against `TABLE_NAME`; values are always bound
parameters. Tabular data handed to the engine is an Arrow table or a pandas DataFrame (both engines read
either); results always come back as Arrow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

from showdown_pipeline.core.sql import load_sql, prepare_connection
from showdown_pipeline.core.staging import duckdb_literal

TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# rows per batch DuckDB streams to query_slices (its row group's size): a slice gathers several
_STREAM_BATCH_ROWS = 122_880
FILE_FORMATS = ("parquet", "json", "csv")  # file_view: csv has a header row and every column read as text


class WarehouseError(RuntimeError):
    """A statement the warehouse refused (wraps the engine's own error, with the statement's name).

    `kind` is the engine's name for the error (e.g. `ConversionException`) and `detail` its message, so a
    caller can report the engine's words without the statement's name."""

    def __init__(self, statement: str, detail: str, kind: str = "WarehouseError"):
        super().__init__(f"{statement}: {detail}")
        self.statement, self.detail, self.kind = statement, detail, kind

    @classmethod
    def wrapping(cls, statement: str, exc: BaseException) -> WarehouseError:
        return cls(statement, str(exc), type(exc).__name__)


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

    def query_slices(
        self, name: str, params: Mapping[str, Any] | None = None, rows: int = 1_000_000
    ) -> Iterator[pa.Table]:
        """The statement's result, run once, as consecutive tables of `rows` rows (the last one fewer; one
        empty table for an empty result), no more than about one slice of it held in this process at once;
        in the statement's order on DuckDB, in no set order on Spark. No other statement may run on the
        session until the iterator is exhausted or closed (contextlib.closing)."""

    def rows(self, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """A small result as one dict per row, by column name."""

    def one(self, name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A result of exactly one row, by column name."""

    def replace_table(self, table: str, data: pa.Table | pd.DataFrame) -> None:
        """Create or replace the warehouse table `table` with `data`."""

    def read_table(self, table: str) -> pa.Table:
        """A whole (small) table, e.g. a published board."""

    def swap_table(self, source: str, target: str) -> None:
        """`source` becomes `target` (the old `target` is dropped): a table built whole, put in place."""

    def append_table(self, source: str, target: str) -> None:
        """`source`'s rows are added to `target` (columns by name), and `source` is dropped."""

    def table_names(self) -> set[str]:
        """Tables that exist in the warehouse."""

    def registered(self, name: str, data: pa.Table | pd.DataFrame):
        """A context manager: `data` readable as the view `name` by statements of this session."""

    def file_view(self, name: str, path: Path, file_format: str):
        """A context manager: the file at `path` (one of FILE_FORMATS) readable as the view `name`, read
        lazily (a statement reads only the columns it uses)."""

    def transaction(self):
        """A context manager: every statement inside commits together, or none does."""


class RowResults:
    """`rows` and `one` of a session, from its `query` (the same for every engine)."""

    def query(self, name: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        raise NotImplementedError

    def rows(self, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.query(name, params).to_pylist()

    def one(self, name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        rows = self.rows(name, params)
        if len(rows) != 1:
            raise WarehouseError(name, f"expected one row, got {len(rows)}")
        return rows[0]


def slice_rows(rows: int) -> int:
    """`rows` as a slice's size (query_slices on every engine, slices_of), refused before any work if below one."""
    if rows < 1:
        raise ValueError(f"a slice holds at least one row, not {rows}")
    return rows


def slices_of(schema: pa.Schema, batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """`batches` regrouped into consecutive tables of `rows` rows (the last one fewer), in order; one empty
    table (of `schema`) when there is no row. A batch is cut where a slice ends."""
    slice_rows(rows)
    pending: list[pa.RecordBatch] = []
    held = sent = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - held, batch.num_rows)
            pending.append(batch.slice(0, take))
            held, batch = held + take, batch.slice(take)
            if held == rows:
                held, sent = 0, sent + 1
                yield _handed_over(pending, schema)
    if held or not sent:
        yield _handed_over(pending, schema)


def _handed_over(pending: list[pa.RecordBatch], schema: pa.Schema) -> pa.Table:
    """`pending` as one table, the list emptied: the generator keeps no reference to a slice it handed over
    (the caller can free it while the next one is read)."""
    table = pa.Table.from_batches(pending, schema)
    pending.clear()
    return table


class DuckDBSession(RowResults):
    """`WarehouseSession` on one DuckDB connection."""

    engine = "duckdb"

    def __init__(self, conn: duckdb.DuckDBPyConnection):
        self.conn = conn
        self._in_transaction = False

    def _execute(self, name: str, params: Mapping[str, Any] | None):
        try:
            return self.conn.execute(load_sql(name), dict(params or {}))
        except duckdb.Error as exc:
            raise WarehouseError.wrapping(name, exc) from exc

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> None:
        self._execute(name, params)

    def query(self, name: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        try:
            return self.conn.sql(load_sql(name), params=dict(params or {}) or None).to_arrow_table()
        except duckdb.Error as exc:
            raise WarehouseError.wrapping(name, exc) from exc

    def query_slices(
        self, name: str, params: Mapping[str, Any] | None = None, rows: int = 1_000_000
    ) -> Iterator[pa.Table]:
        """Streamed: DuckDB hands the result over in batches as it makes it, so no more than about a slice
        of it is held here at once."""
        try:
            reader = self.conn.sql(load_sql(name), params=dict(params or {}) or None).to_arrow_reader(
                min(slice_rows(rows), _STREAM_BATCH_ROWS)
            )
        except duckdb.Error as exc:
            raise WarehouseError.wrapping(name, exc) from exc
        with closing(reader):
            try:
                yield from slices_of(reader.schema, reader, rows)
            except (duckdb.Error, pa.ArrowException, OSError) as exc:  # Arrow's reader raises OSError for it
                raise WarehouseError.wrapping(name, exc) from exc

    def replace_table(self, table: str, data: pa.Table | pd.DataFrame) -> None:
        view = f"_replace_{checked_table_name(table)}"
        self.conn.register(view, data)
        try:
            self.conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {view}")  # noqa: S608 - checked name
        except duckdb.Error as exc:
            raise WarehouseError.wrapping(f"replace_table {table}", exc) from exc
        finally:
            self.conn.unregister(view)

    def read_table(self, table: str) -> pa.Table:
        try:
            return self.conn.sql(f"SELECT * FROM {checked_table_name(table)}").to_arrow_table()  # noqa: S608
        except duckdb.Error as exc:
            raise WarehouseError.wrapping(f"read_table {table}", exc) from exc

    def swap_table(self, source: str, target: str) -> None:
        self._two_steps(
            f"swap_table {source} {target}",
            f"DROP TABLE IF EXISTS {checked_table_name(target)}",
            f"ALTER TABLE {checked_table_name(source)} RENAME TO {target}",
        )

    def append_table(self, source: str, target: str) -> None:
        self._two_steps(
            f"append_table {source} {target}",
            f"INSERT INTO {checked_table_name(target)} BY NAME SELECT * FROM {checked_table_name(source)}",  # noqa: S608 - checked names
            f"DROP TABLE {source}",
        )

    def _two_steps(self, what: str, first: str, second: str) -> None:
        """Two statements on checked table names that hold together: inside the caller's transaction, or in
        their own (a failed or killed second step never leaves the first one done)."""
        try:
            if self._in_transaction:
                self.conn.execute(first)
                self.conn.execute(second)
                return
            with self.transaction():
                self.conn.execute(first)
                self.conn.execute(second)
        except duckdb.Error as exc:
            raise WarehouseError.wrapping(what, exc) from exc

    def table_names(self) -> set[str]:
        return {r["table_name"] for r in self.rows("warehouse/table_names")}

    @contextmanager
    def registered(self, name: str, data: pa.Table | pd.DataFrame) -> Iterator[None]:
        self.conn.register(checked_table_name(name), data)
        try:
            yield
        finally:
            self.conn.unregister(name)

    @contextmanager
    def file_view(self, name: str, path: Path, file_format: str) -> Iterator[None]:
        readers = {
            "parquet": lambda p: self.conn.read_parquet(p),
            "json": lambda p: self.conn.read_json(p),
            "csv": lambda p: self.conn.read_csv(p, header=True, all_varchar=True),
        }
        if file_format not in readers:
            raise ValueError(f"file_view reads {', '.join(FILE_FORMATS)}, not {file_format!r}")
        try:
            # the path literally: DuckDB's readers take globs (`votes[1].csv` read votes1.csv)
            readers[file_format](duckdb_literal(path)).create_view(checked_table_name(name), replace=True)
        except duckdb.Error as exc:
            raise WarehouseError.wrapping(f"file_view {name}", exc) from exc
        try:
            yield
        finally:
            self.conn.execute(f"DROP VIEW IF EXISTS {name}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            try:
                self.conn.execute("COMMIT")
            except duckdb.Error as exc:  # the commit itself failed: nothing of the block is kept
                with suppress(duckdb.Error):  # DuckDB may have ended the transaction already
                    self.conn.execute("ROLLBACK")
                raise WarehouseError.wrapping("COMMIT", exc) from exc
        finally:
            self._in_transaction = False


@contextmanager
def duckdb_session(
    database: str | Path,
    config: Mapping[str, str] | None = None,
    read_only: bool = False,
    memory_limit: str | None = None,
):
    """A session on the DuckDB file `database` (":memory:" for a scratch one) with the pipeline's settings.

    `memory_limit`, when it differs from `config`'s, holds while the session is open. DuckDB's limit belongs
    to the database, not the connection (a second connection to the file with another config is refused), so
    it is set on the open connection and put back to `config`'s when the session ends: a connection to the
    same file open meanwhile in this process runs under it too."""
    config = dict(config or {})
    conn = duckdb.connect(str(database), read_only=read_only, config=config)
    own = memory_limit if memory_limit and memory_limit != config.get("memory_limit") else None
    try:
        prepare_connection(conn)
        if own:
            conn.execute("SET memory_limit = $limit", {"limit": own})
        yield DuckDBSession(conn)
    finally:
        if own:
            with suppress(duckdb.Error):  # a connection the engine gave up on: its limit goes with it
                if "memory_limit" in config:
                    conn.execute("SET memory_limit = $limit", {"limit": config["memory_limit"]})
                else:
                    conn.execute("RESET memory_limit")
        conn.close()
