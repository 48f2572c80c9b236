"""Where things live. Defaults: landing zone `data/landing`, home `data/`; the environment may override
them (SHOWDOWN_LANDING, SHOWDOWN_HOME) and the CLI flags override the environment.
SHOWDOWN_DUCKDB_MEMORY_LIMIT (e.g. `8GB`) caps the warehouse's memory (default: a quarter of the machine's
RAM or of a container's cgroup limit, `default_memory_limit`); SHOWDOWN_DUCKDB_THREADS sets its worker threads
(default: the cores this process may use, `default_threads`). What does not fit spills to `<home>/.tmp/duckdb`."""

from __future__ import annotations

import math
import os
import re
from datetime import UTC, date, datetime, time
from pathlib import Path

DEFAULT_LANDING = Path("data/landing")
DEFAULT_HOME = Path("data")


def landing_dir_from_env() -> Path:
    return Path(os.environ.get("SHOWDOWN_LANDING", str(DEFAULT_LANDING))).resolve()


def home_dir_from_env() -> Path:
    return Path(os.environ.get("SHOWDOWN_HOME", str(DEFAULT_HOME))).resolve()


def pin_blas_threads() -> None:
    """Hold numpy's and scipy's BLAS and LAPACK to one thread in this process (the pipeline's processes
    call this first: the Dagster definitions on import, `showdown rate` before it fits).

    The matrices the ratings solve are small (one row per model), and the parallel work is ours: two
    segment fits at once, DuckDB's threads. OpenBLAS's own threads only fought them: on a busy two-core
    machine a bootstrap chord step's 40 × 40 Cholesky solve took 3.7 ms instead of 31 µs, half of the raw
    segment boards' time. They also split float sums by the machine's core count, so the same votes gave
    segment bootstrap intervals up to 3.7e-8 Elo apart on machines with other core counts; on one thread
    they are the same bits everywhere. scipy.linalg is imported first: a BLAS loaded later would not be held."""
    import scipy.linalg  # noqa: F401  (loads scipy's own OpenBLAS, so the limit reaches it)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


# DuckDB's own default memory limit is 80% of RAM: a 10M-vote run then peaked at 11 GB of RSS on a 24 GB
# machine, leaving nothing to the Python side (the style fit, the GX suite) or to anyone else. A quarter of
# RAM (6 GB here) keeps a 10M-vote run under 8 GB; what does not fit spills to disk under the home.
DEFAULT_MEMORY_SHARE = 0.25
# The integrity step's statements (hash aggregates of every (voter, model) sighting, a window over every vote)
# fill whatever limit they are given, and the run's process already holds ~3 GB from the steps before it:
# with a quarter of RAM that step peaked at 9.8 GB at 10M votes. With an eighth (3 GB here), same outputs: in
# a fresh process 6.85 -> 3.71 GB; in the full 10M build 7.35 GiB, the build's peak (bench/bench_nightly.py).
INTEGRITY_MEMORY_SHARE = 0.125
MIN_MEMORY_LIMIT_MB = 512


def default_memory_limit(share: float = DEFAULT_MEMORY_SHARE) -> str:
    """`share` (default a quarter) of the memory this process may use (at least 512 MB), in MB, as DuckDB
    takes it: the machine's physical RAM, or a container's smaller cgroup limit (`memory.max`)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit = _cgroup_value("memory.max")
    if limit is not None:
        total = min(total, int(limit[0]))
    return f"{max(MIN_MEMORY_LIMIT_MB, int(total * share / 2**20))}MB"


def default_threads() -> str:
    """The cores this process may run on: a taskset's share (affinity), and no more than a container's
    cgroup CPU quota (`cpu.max`, rounded up), not the host's count."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        cores = max(1, os.cpu_count() or 1)
    quota = _cgroup_value("cpu.max")
    if quota is not None and len(quota) == 2 and int(quota[1]) > 0:
        cores = min(cores, max(1, math.ceil(int(quota[0]) / int(quota[1]))))
    return str(cores)


# cgroup v2, where a container's limits are (a test points it at a folder of its own)
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _cgroup_value(name: str) -> list[str] | None:
    """The numbers of a cgroup v2 limit file (`cpu.max`: quota and period; `memory.max`: bytes), or None
    where there is no such file or no limit (`max`) or it does not read as numbers."""
    try:
        fields = (CGROUP_ROOT / name).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    if not fields or fields[0] == "max" or not all(f.isdigit() for f in fields):
        return None
    return fields


def duckdb_spill_dir(home: Path) -> Path:
    """Where the warehouse spills what does not fit in its memory limit (emptied by DuckDB itself)."""
    return Path(home) / ".tmp" / "duckdb"


def warehouse_connection_config(
    memory_limit: str | None = None, home: Path | None = None, memory_share: float = DEFAULT_MEMORY_SHARE
) -> dict[str, str]:
    """DuckDB settings for every warehouse connection: the memory limit given, else the environment's
    SHOWDOWN_DUCKDB_MEMORY_LIMIT (e.g. 8GB), else `default_memory_limit(memory_share)` (a step may ask for
    less than the default share, e.g. INTEGRITY_MEMORY_SHARE; a limit set by hand holds for every step);
    SHOWDOWN_DUCKDB_THREADS, else `default_threads()`; spilling to `duckdb_spill_dir(home)` when a home is
    given. The published numbers do not depend on the thread count (every statement whose rows feed math is
    ordered; test_reproducible.py), nor on the memory limit (it decides what spills, never a row)."""
    limit = (memory_limit or os.environ.get("SHOWDOWN_DUCKDB_MEMORY_LIMIT", "")).strip()
    config = {
        "memory_limit": _checked_duckdb_setting(
            "SHOWDOWN_DUCKDB_MEMORY_LIMIT", "memory_limit", limit, "a memory size (e.g. 8GB)"
        )
        if limit
        else default_memory_limit(memory_share)
    }
    threads = os.environ.get("SHOWDOWN_DUCKDB_THREADS", "").strip()
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            raise ValueError(f"SHOWDOWN_DUCKDB_THREADS={threads!r} is not a positive whole number")
        config["threads"] = _checked_duckdb_setting(
            "SHOWDOWN_DUCKDB_THREADS", "threads", threads, "a thread count"
        )
    else:
        config["threads"] = default_threads()
    if home is not None:
        config["temp_directory"] = str(duckdb_spill_dir(home))
    return config


def _checked_duckdb_setting(variable: str, name: str, value: str, what: str) -> str:
    """Refuse a bad value here, with its name, not halfway through a run."""
    import duckdb

    try:
        duckdb.connect(":memory:", config={name: value}).close()
    except duckdb.Error as exc:
        raise ValueError(f"{variable}={value!r} is not {what}: {exc}") from exc
    return value


ENGINES = ("duckdb", "spark")


def engine_from_env(engine: str | None = None) -> str:
    """The warehouse engine: the one given, else $SHOWDOWN_ENGINE, else duckdb."""
    value = (engine or os.environ.get("SHOWDOWN_ENGINE", "") or "duckdb").strip().lower()
    if value not in ENGINES:
        raise ValueError(f"SHOWDOWN_ENGINE must be one of {', '.join(ENGINES)}, not {value!r}")
    return value


def spark_master_from_env(master: str | None = None) -> str:
    """Where Spark runs: the master given, else $SHOWDOWN_SPARK_MASTER, else local[2] (a spark://, yarn or
    k8s:// URL in production)."""
    return (master or os.environ.get("SHOWDOWN_SPARK_MASTER", "") or "local[2]").strip()


_SPARK_MEMORY = re.compile(r"[1-9][0-9]*[kmgt]?", re.IGNORECASE)


def spark_driver_memory_from_env(master: str) -> str | None:
    """The Spark driver's heap: $SHOWDOWN_SPARK_DRIVER_MEMORY (Spark's spelling: 512m, 8g), else, for a Spark
    on this machine (local[...] or a master on 127.0.0.1), the same quarter of RAM the DuckDB warehouse gets
    (Spark's own 1g default ran out of heap on the 10M-vote world: in local mode the driver is the executor);
    else None, the cluster's own setting. Read once, when the JVM starts."""
    value = os.environ.get("SHOWDOWN_SPARK_DRIVER_MEMORY", "").strip()
    if value:
        if not _SPARK_MEMORY.fullmatch(value):
            raise ValueError(f"SHOWDOWN_SPARK_DRIVER_MEMORY={value!r} is not a Spark memory size (e.g. 8g)")
        return value.lower()
    if spark_on_this_machine(master):
        return f"{int(default_memory_limit().removesuffix('MB'))}m"
    return None


def spark_on_this_machine(master: str) -> bool:
    """A Spark whose every process runs here: local[...] or a master on 127.0.0.1."""
    return master.startswith("local") or "://127.0.0.1:" in master


def spark_tables_root(home: Path, location: str | None = None) -> Path:
    """Where the Spark engine keeps its Parquet tables and their catalog: the location given, else
    $SHOWDOWN_SPARK_TABLES, else <home>/spark."""
    value = (location or os.environ.get("SHOWDOWN_SPARK_TABLES", "")).strip()
    return Path(value).resolve() if value else Path(home) / "spark"


def warehouse_path(home: Path) -> Path:
    return Path(home) / "warehouse.duckdb"


def ingest_staging_dir(home: Path) -> Path:
    """Private copies of landing files being ingested (core/staging.py); emptied at every ingest start."""
    return Path(home) / ".staging" / "ingest"


def snapshots_dir(home: Path) -> Path:
    return Path(home) / "snapshots"


def exports_dir(home: Path) -> Path:
    """Licensed exports: `<exports>/<licensee>/<as-of>/` (core/licensing.export_dir names one)."""
    return Path(home) / "exports"


# Characters the Dagster instance's SQLite storage cannot hold in its path: it builds `sqlite:///<path>` URLs
# unescaped, so a `?` starts URL parameters (the run database lands OUTSIDE the home, at the path cut before
# the `?`) and a `%` is read as an escape (the instance fails). `[`, `*`, spaces, `#` work (tested).
UNSAFE_HOME_CHARACTERS = ("?", "%")


def check_home_path(home: Path) -> Path:
    """The home, or ValueError (one line) when its path holds a character the Dagster instance misreads."""
    found = [c for c in UNSAFE_HOME_CHARACTERS if c in str(home)]
    if found:
        raise ValueError(
            f"home {ascii(str(home))[1:-1]} contains {' and '.join(repr(c) for c in found)}, which Dagster's run "
            "storage misreads in a database URL (it would write outside the home); choose a path without "
            + " or ".join(repr(c) for c in UNSAFE_HOME_CHARACTERS)
        )
    return home


def dagster_home(home: Path) -> Path:
    return Path(home) / "dagster"


LOCK_FILE = "showdown.lock"


def lock_path(home: Path) -> Path:
    """The home's one-writer lock (core/lock.py)."""
    return Path(home) / LOCK_FILE


# What every Dagster instance over a home needs: no telemetry, and the warehouse pool limited to one step at a
# time across all runs (DuckDB allows one writing process; our only pool is the warehouse's).
DAGSTER_POOL_LIMIT = 1


def write_dagster_config(dagster_home_dir: Path) -> Path:
    """Create or update `dagster.yaml`: keep what an operator wrote, set `concurrency.pools.default_limit: 1`."""
    import yaml

    config_path = Path(dagster_home_dir) / "dagster.yaml"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    existing = config_path.read_text(encoding="utf-8") if config_path.exists() else None
    config = (yaml.safe_load(existing) if existing else None) or {"telemetry": {"enabled": False}}
    if not isinstance(config, dict):
        raise ValueError(f"{config_path} is not a YAML mapping; fix or remove it")
    concurrency = config.setdefault("concurrency", {}) or {}
    config["concurrency"] = concurrency
    pools = concurrency.setdefault("pools", {}) or {}
    concurrency["pools"] = pools
    if pools.get("default_limit") == DAGSTER_POOL_LIMIT and existing is not None:
        return config_path
    pools["default_limit"] = DAGSTER_POOL_LIMIT
    tmp = config_path.with_name(f".dagster.yaml.{os.getpid()}.tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    os.replace(tmp, config_path)
    return config_path


def utc_now() -> datetime:
    """The one clock the pipeline reads (tests move it). A run reads it at most once, for its default cut."""
    return datetime.now(UTC)


def parse_as_of(value: str | None) -> date:
    """`YYYY-MM-DD`, or today (UTC) when not given."""
    if value is None or value == "":
        return utc_now().date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"--as-of must be YYYY-MM-DD, got {value!r}") from exc


def cutoff_instant(as_of: date) -> datetime:
    """The data cut of an as-of date: the instant D 00:00:00 UTC. Votes at or after it wait."""
    return datetime.combine(as_of, time(0, 0), tzinfo=UTC)
