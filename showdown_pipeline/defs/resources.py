"""Resources shared by every stage: the warehouse (every statement goes through its session; a run that uses it
holds the home's lock), the pipeline's folders, and the run's own data cut.

Nothing here does I/O when the definitions are built: a resource left unconfigured reads its environment
(SHOWDOWN_HOME, SHOWDOWN_LANDING, SHOWDOWN_DUCKDB_MEMORY_LIMIT, SHOWDOWN_ENGINE, SHOWDOWN_SPARK_MASTER) when a run,
sensor or schedule uses it, and
the warehouse makes the home, checks the memory limit and takes the lock when a run starts."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from showdown_pipeline import settings
from showdown_pipeline.core import licensing, lock, records, run_cut
from showdown_pipeline.core.warehouse import WarehouseSession, duckdb_session

# DuckDB allows one writing process: every asset that writes the warehouse shares this pool, limited to one
# step at a time across runs by the instance's dagster.yaml (settings.write_dagster_config).
WAREHOUSE_POOL = "showdown_warehouse"


class WarehouseResource(dg.ConfigurableResource):
    """The home's warehouse (DuckDB: `<home>/warehouse.duckdb`; with engine `spark`, Parquet tables under
    `<home>/spark`, core/spark_warehouse.py, on the Spark session dagster-pyspark makes for
    SHOWDOWN_SPARK_MASTER). `session()` is the one way a step reaches it
    (core/warehouse.py: statements by name, results by column name). A run that uses it holds the home's
    one-writer lock (core/lock.py) from its start to its end, whether launched by `showdown run`, the UI, the
    schedule or the sensor, and frees pool slots that dead runs left claimed."""

    home_dir: str | None = Field(
        default=None, description="Home holding warehouse.duckdb. Default: $SHOWDOWN_HOME, else data."
    )
    memory_limit: str | None = Field(
        default=None,
        description="DuckDB memory_limit, e.g. 8GB. Default: $SHOWDOWN_DUCKDB_MEMORY_LIMIT, else a quarter "
        "of the machine's RAM (settings.default_memory_limit); spills go under <home>/.tmp/duckdb.",
    )
    engine: str | None = Field(
        default=None, description="Warehouse engine: duckdb or spark. Default: $SHOWDOWN_ENGINE, else duckdb."
    )
    spark_master: str | None = Field(
        default=None,
        description="Spark master (engine spark): local[2], spark://host:7077, yarn, k8s://… Default: "
        "$SHOWDOWN_SPARK_MASTER, else local[2].",
    )
    spark_tables: str | None = Field(
        default=None,
        description="Folder of the Spark engine's Parquet tables and catalog. Default: $SHOWDOWN_SPARK_TABLES, "
        "else <home>/spark.",
    )
    _config: dict[str, str] | None = PrivateAttr(default=None)
    _spark: object | None = PrivateAttr(default=None)
    _home: Path | None = PrivateAttr(default=None)  # fixed when the run starts
    _locked: Path | None = PrivateAttr(default=None)

    @property
    def home(self) -> Path:
        if self._home is not None:
            return self._home
        return Path(self.home_dir).resolve() if self.home_dir else settings.home_dir_from_env()

    def connection_config(self) -> dict[str, str]:
        """The engine's settings, checked (a bad memory limit is refused here, with its name)."""
        if self._config is None:
            self._config = settings.warehouse_connection_config(self.memory_limit, self.home)
        return self._config

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        home = self._home = self.home
        try:
            self.connection_config()
            self.engine_name  # noqa: B018 - a bad SHOWDOWN_ENGINE stops the run here, with its name
            home.mkdir(parents=True, exist_ok=True)
            # DuckDB makes only the last folder of its spill path
            settings.duckdb_spill_dir(home).mkdir(parents=True, exist_ok=True)
        except (ValueError, OSError) as exc:
            raise dg.Failure(description=str(exc)) from None
        run = context.run
        command = f"dagster run {run.run_id[:8]} of {run.job_name}" if run else None
        try:
            acquired = lock.acquire(home, command)
        except (lock.HomeBusy, lock.UnsafeLockFile) as exc:
            raise dg.Failure(description=str(exc)) from None
        self._locked = home
        if (
            self.engine_name == "spark"
        ):  # folders a killed writer left, named by no catalog (core/spark_warehouse)
            from showdown_pipeline.core.spark_warehouse import repair

            for folder in repair(self.spark_root):
                context.log.warning(f"removed {folder}: written by a step that died before publishing it")
        if acquired.stale:
            context.log.warning(lock.describe_takeover(acquired.stale))
        if acquired.fresh and context.instance is not None and run is not None:
            freed = free_stale_pool_claims(context.instance, run.run_id)
            if freed:
                context.log.warning(f"freed warehouse pool slots held by dead runs {', '.join(freed)}")
        if run is not None and settings.exports_dir(home).is_dir():
            with self.session() as session:  # an export whose publisher died before its audit row
                for done in licensing.audit_published_exports(session, home, run.run_id):
                    context.log.warning(done)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._locked is not None:
            lock.release(self._locked)
            self._locked = None

    @property
    def engine_name(self) -> str:
        return settings.engine_from_env(self.engine)

    @property
    def spark_root(self) -> Path:
        return settings.spark_tables_root(self.home, self.spark_tables)

    def spark_session(self):
        """The process's Spark session, made by dagster-pyspark from core/spark_warehouse.spark_config."""
        if self._spark is None:
            from showdown_pipeline.core.spark_warehouse import spark_config
            from showdown_pipeline.core.third_party import pyspark_pandas_notice_silenced

            with pyspark_pandas_notice_silenced():
                from dagster_pyspark import LazyPySparkResource

            master = settings.spark_master_from_env(self.spark_master)
            local = self.home / ".staging" / "spark-local"
            local.mkdir(parents=True, exist_ok=True)
            config = spark_config(master, local, settings.spark_driver_memory_from_env(master))
            self._spark = LazyPySparkResource(spark_config=config).spark_session
        return self._spark

    @contextmanager
    def session(self, memory_share: float = settings.DEFAULT_MEMORY_SHARE) -> Iterator[WarehouseSession]:
        """A session on the warehouse, closed when the block ends (a failed step too); DuckDB's memory limit
        is `memory_share` of RAM unless one is set by hand (settings.warehouse_connection_config)."""
        if self.engine_name == "spark":
            from showdown_pipeline.core.spark_warehouse import spark_session

            with spark_session(self.spark_session(), self.spark_root) as session:
                yield session
            return
        own = None  # the default share: the limit the connection opens with (connection_config, once per run)
        if memory_share != settings.DEFAULT_MEMORY_SHARE:
            config = settings.warehouse_connection_config(self.memory_limit, self.home, memory_share)
            own = config["memory_limit"]
        path = settings.warehouse_path(self.home)
        with duckdb_session(path, self.connection_config(), memory_limit=own) as session:
            yield session


def free_stale_pool_claims(instance: dg.DagsterInstance, own_run_id: str | None = None) -> list[str]:
    """Free pool slots claimed by other runs and mark those runs failed. Call only while holding the home's
    lock: a run claims slots only after its warehouse resource took the lock, so another run holding a slot
    now is a run whose process died (kill -9) and would otherwise block the pool forever."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    stale = sorted(set(storage.get_concurrency_run_ids()) - {own_run_id})
    for run_id in stale:
        storage.free_concurrency_slots_for_run(run_id)
        dead = instance.get_run_by_id(run_id)
        if dead is not None and not dead.is_finished:
            instance.report_run_failed(dead, message="its process died while holding the warehouse pool")
    return [r[:8] for r in stale]


class RunCutResource(dg.ConfigurableResource):
    """The run's data cut, anchor, seed and breaker overrides (core/run_cut.py), read once from the run's tags
    when the run starts; a value without a tag defaults (as_of: the UTC date the run was created) and is
    written back onto the run as a tag, so the run page shows the cut it used."""

    _cut: run_cut.RunCut | None = PrivateAttr(default=None)
    _run_id: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run = context.run
        tags = dict(run.tags) if run else {}
        created = run_created_at(context.instance, run.run_id) if run else settings.utc_now()
        try:
            cut = run_cut.cut_from_tags(tags, created)
        except run_cut.CutError as exc:
            raise dg.Failure(description=f"run tags: {exc}") from None
        missing = {k: v for k, v in cut.tags().items() if k not in tags}
        if missing and context.instance is not None and run is not None:
            context.instance.add_run_tags(run.run_id, missing)
        self._cut, self._run_id = cut, run.run_id if run else None

    @property
    def cut(self) -> run_cut.RunCut:
        if self._cut is None:
            raise RuntimeError("RunCutResource is read inside a run only")
        return self._cut

    def record(self) -> dict:
        """What a table made by this run records about its cut (publish compares it with its own)."""
        return {"run_id": self._run_id, **self.cut.key()}


def run_created_at(instance: dg.DagsterInstance | None, run_id: str) -> datetime:
    record = instance.get_run_record_by_id(run_id) if instance is not None else None
    if record is None or record.create_timestamp is None:
        return settings.utc_now()
    created = record.create_timestamp
    return created.astimezone(UTC) if created.tzinfo else created.replace(tzinfo=UTC)


class ShowdownPaths(dg.ConfigurableResource):
    """The landing zone the pipeline reads and the home it writes (warehouse, snapshots, exports)."""

    landing_dir: str | None = Field(
        default=None,
        description="Root of the landing zone (votes/, contributors/, models.csv, arena/). "
        "Default: $SHOWDOWN_LANDING, else data/landing.",
    )
    home_dir: str | None = Field(
        default=None,
        description="Home: warehouse.duckdb, snapshots/, exports/. Default: $SHOWDOWN_HOME, else data.",
    )

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir).resolve() if self.landing_dir else settings.landing_dir_from_env()

    @property
    def home(self) -> Path:
        return Path(self.home_dir).resolve() if self.home_dir else settings.home_dir_from_env()

    @property
    def snapshots(self) -> Path:
        return settings.snapshots_dir(self.home)


def build_resources(landing_dir: Path | None = None, home_dir: Path | None = None) -> dict[str, object]:
    """The resources of every definition: over this landing zone and home, or (None) over the ones the
    environment names when a run starts. No I/O here."""
    landing = str(Path(landing_dir).resolve()) if landing_dir is not None else None
    home = str(Path(home_dir).resolve()) if home_dir is not None else None
    return {
        "warehouse": WarehouseResource(home_dir=home),
        "paths": ShowdownPaths(landing_dir=landing, home_dir=home),
        "run_cut": RunCutResource(),
    }


def board_parameters(session: WarehouseSession, board: str) -> dict:
    """A board's recorded parameters (core/records.py); a board never fitted stops the step, naming the
    asset to materialize first."""
    try:
        return records.load_parameters(session, board)
    except records.RecordMissing as exc:
        raise dg.Failure(description=str(exc)) from None


def materialized_in_run(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> set[str]:
    """Asset keys this run has materialized so far."""
    records = context.instance.get_records_for_run(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    return {r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records}


def ensure_same_cut(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
    run: RunCutResource,
    recorded: dict | None,
    asset: str,
) -> None:
    """Refuse a table made under another cut, anchor or seed, or rewritten by another run after this run
    made it: a step never takes another run's cut from a shared table."""
    if not recorded:
        raise dg.Failure(description=f"{asset} records no data cut: materialize it in this run")
    if asset in materialized_in_run(context) and recorded.get("run_id") != context.run.run_id:
        raise dg.Failure(
            description=f"{asset} was rewritten by run {str(recorded.get('run_id'))[:8]} after this run "
            f"made it; run again"
        )
    mismatch = run_cut.describe_mismatch(run.cut.key(), recorded, asset, recorded.get("run_id"))
    if mismatch:
        raise dg.Failure(description=f"{mismatch}: materialize {asset} in this run or give this run that cut")
