"""Where things live. Defaults: landing zone `data/landing`, home `data/`; the environment may override
them (SHOWDOWN_LANDING, SHOWDOWN_HOME) and the CLI flags override the environment.
SHOWDOWN_DUCKDB_MEMORY_LIMIT (e.g. `8GB`) caps the warehouse's memory; DuckDB's default is 80% of RAM."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time
from pathlib import Path

DEFAULT_LANDING = Path("data/landing")
DEFAULT_HOME = Path("data")


def landing_dir_from_env() -> Path:
    return Path(os.environ.get("SHOWDOWN_LANDING", str(DEFAULT_LANDING))).resolve()


def home_dir_from_env() -> Path:
    return Path(os.environ.get("SHOWDOWN_HOME", str(DEFAULT_HOME))).resolve()


def warehouse_connection_config() -> dict[str, str]:
    """DuckDB settings for every warehouse connection, from the environment."""
    limit = os.environ.get("SHOWDOWN_DUCKDB_MEMORY_LIMIT", "").strip()
    if not limit:
        return {}
    import duckdb

    try:  # refuse a bad value here, with its name, not halfway through a run
        duckdb.connect(":memory:", config={"memory_limit": limit}).close()
    except duckdb.Error as exc:
        raise ValueError(
            f"SHOWDOWN_DUCKDB_MEMORY_LIMIT={limit!r} is not a memory size (e.g. 8GB): {exc}"
        ) from exc
    return {"memory_limit": limit}


def warehouse_path(home: Path) -> Path:
    return Path(home) / "warehouse.duckdb"


def ingest_staging_dir(home: Path) -> Path:
    """Private copies of landing files being ingested (core/staging.py); emptied at every ingest start."""
    return Path(home) / ".staging" / "ingest"


def snapshots_dir(home: Path) -> Path:
    return Path(home) / "snapshots"


def dagster_home(home: Path) -> Path:
    return Path(home) / "dagster"


def parse_as_of(value: str | None) -> date:
    """`YYYY-MM-DD`, or today (UTC) when not given."""
    if value is None or value == "":
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"--as-of must be YYYY-MM-DD, got {value!r}") from exc


def cutoff_instant(as_of: date) -> datetime:
    """The data cut of an as-of date: the instant D 00:00:00 UTC. Votes at or after it wait."""
    return datetime.combine(as_of, time(0, 0), tzinfo=UTC)
