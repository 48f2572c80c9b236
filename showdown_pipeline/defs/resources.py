"""Resources shared by every stage: the DuckDB warehouse and the pipeline's folders."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from showdown_pipeline import settings
from showdown_pipeline.core.sql import prepare_connection

# DuckDB allows one writing process: every asset that writes the warehouse shares this pool.
WAREHOUSE_POOL = "showdown_warehouse"


class ShowdownPaths(dg.ConfigurableResource):
    """The landing zone the pipeline reads and the home it writes (warehouse, snapshots, exports)."""

    landing_dir: str = Field(
        description="Root of the landing zone (votes/, contributors/, models.csv, arena/)."
    )
    home_dir: str = Field(description="Home: warehouse.duckdb, snapshots/, exports/.")

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def home(self) -> Path:
        return Path(self.home_dir)

    @property
    def snapshots(self) -> Path:
        return settings.snapshots_dir(self.home)


@contextmanager
def warehouse(duckdb_resource: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse connection with the pipeline's session settings (UTC)."""
    with duckdb_resource.get_connection() as conn:
        try:
            prepare_connection(conn)
            yield conn
        finally:  # get_connection closes only on success: a failed step would keep the file open
            conn.close()


def replace_table(conn: duckdb.DuckDBPyConnection, table: str, frame) -> None:
    """Replace warehouse table `table` (a fixed name from code, never input) with a DataFrame or Arrow table."""
    view = f"_replace_{table}"
    conn.register(view, frame)
    conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {view}")  # noqa: S608 - names from code
    conn.unregister(view)


def build_resources(landing_dir: Path, home_dir: Path) -> dict[str, object]:
    home_dir = Path(home_dir).resolve()
    home_dir.mkdir(parents=True, exist_ok=True)
    return {
        "duckdb": DuckDBResource(
            database=str(settings.warehouse_path(home_dir)),
            connection_config=settings.warehouse_connection_config(),
        ),
        "paths": ShowdownPaths(landing_dir=str(Path(landing_dir).resolve()), home_dir=str(home_dir)),
    }
