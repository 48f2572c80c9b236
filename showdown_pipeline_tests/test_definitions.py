"""The Definitions load, every job/schedule/sensor resolves, and the asset keys are pinned."""

from __future__ import annotations

import os

import dagster as dg

from showdown_pipeline.core.breakers import BREAKER_NAMES
from showdown_pipeline.core.sql import all_sql_names, load_sql
from showdown_pipeline.definitions import build_definitions

ASSET_KEYS = {
    "landing_files": "ingest",
    "raw_votes": "ingest",
    "raw_contributors": "ingest",
    "raw_models": "ingest",
    "model_registry": "validate",
    "contributors_checked": "validate",
    "contributor_profiles": "validate",
    "votes_checked": "validate",
    "vote_quarantine": "validate",
    "vote_duplicates": "validate",
    "votes_clean": "validate",
    "votes_validated_files": "validate",
    "votes_clean_unchecked": "validate",
    "validation_summary": "validate",
    "user_flags": "integrity",
    "vote_exclusions": "integrity",
    "votes_counted": "integrity",
    "vote_reviews": "integrity",
    "integrity_summary": "integrity",
    "overall_ratings": "ratings",
    "overall_rating_parameters": "ratings",
    "sampling_plan": "ratings",
    "style_ratings": "ratings",
    "style_rating_parameters": "ratings",
    "country_ratings": "ratings",
    "age_band_ratings": "ratings",
    "education_ratings": "ratings",
    "language_ratings": "ratings",
    "profession_ratings": "ratings",
    "segment_rating_parameters": "ratings",
    "leaderboard_snapshot": "publish",
    "licensed_export_staged": "licensing",
    "licensed_export": "licensing",
    "export_audit": "licensing",
}


def test_definitions_resolve(tmp_path):
    defs = build_definitions(tmp_path / "landing", tmp_path / "home")
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == set(ASSET_KEYS)
    for key, group in ASSET_KEYS.items():
        node = graph.get(dg.AssetKey(key))
        assert node.group_name == group
        assert node.description and node.description.split("\n")[0].strip()
    checks = {k.name for k in graph.asset_check_keys}
    assert checks == {
        "input_rows_reconcile",
        "no_duplicate_vote_ids",
        "votes_clean_passes_expectations",
        "holdout_window_respected",
        *BREAKER_NAMES,
    }
    rebuild = defs.resolve_job_def("showdown_full_rebuild")
    rebuilt = {k.to_user_string() for k in rebuild.asset_layer.executable_asset_keys}
    assert rebuilt == {k for k, g in ASSET_KEYS.items() if g != "licensing"}
    export_job = defs.resolve_job_def("licensed_export_job")
    assert export_job.partitions_def.name == "licensees"
    schedule = defs.resolve_schedule_def("nightly_full_rebuild")
    assert schedule.cron_schedule == "0 2 * * *" and schedule.execution_timezone == "UTC"
    sensor = defs.resolve_sensor_def("landing_files_sensor")
    assert (
        sensor.job_name == "showdown_full_rebuild" and sensor.default_status == dg.DefaultSensorStatus.STOPPED
    )


def test_every_sql_file_holds_one_statement():
    names = all_sql_names()
    assert len(names) > 10
    for name in names:
        load_sql(name)


def test_landing_sensor_requests_a_run_only_when_files_land(tmp_path):
    from showdown_pipeline.defs.automation import landing_files_sensor
    from showdown_pipeline.defs.resources import ShowdownPaths

    landing = tmp_path / "landing"
    (landing / "votes").mkdir(parents=True)
    paths = ShowdownPaths(landing_dir=str(landing), home_dir=str(tmp_path / "home"))
    with dg.build_sensor_context(resources={"paths": paths}) as context:
        first = landing_files_sensor(context)
        cursor = context.cursor
    (landing / "votes" / "new.jsonl").write_text("{}\n")
    with dg.build_sensor_context(cursor=cursor, resources={"paths": paths}) as context:
        second = landing_files_sensor(context)
        cursor2 = context.cursor
    with dg.build_sensor_context(cursor=cursor2, resources={"paths": paths}) as context:
        third = landing_files_sensor(context)
    # an empty landing zone requests nothing, even on the sensor's very first tick (no cursor yet)
    assert isinstance(first, dg.SkipReason) and cursor is not None
    assert isinstance(second, dg.RunRequest) and cursor2 != cursor
    assert isinstance(third, dg.SkipReason)


def test_warehouse_memory_limit_from_the_environment(tmp_path, monkeypatch):
    """Every warehouse session carries SHOWDOWN_DUCKDB_MEMORY_LIMIT; a bad value is refused, with its name,
    when a run starts the warehouse (building the resources neither checks it nor touches the home)."""
    import pytest

    from showdown_pipeline.defs.resources import build_resources

    monkeypatch.setenv("SHOWDOWN_DUCKDB_MEMORY_LIMIT", "512MB")
    resources = build_resources(tmp_path / "landing", tmp_path / "home")
    assert not (tmp_path / "home").exists()
    with dg.build_resources({"warehouse": resources["warehouse"]}) as built, built.warehouse.session() as s:
        assert s.conn.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "488.2 MiB"
    monkeypatch.setenv("SHOWDOWN_DUCKDB_MEMORY_LIMIT", "lots")
    resources = build_resources(tmp_path / "landing", tmp_path / "home2")
    with pytest.raises(dg.DagsterResourceFunctionError) as refused, dg.build_resources(resources):
        pass
    assert isinstance(refused.value.__cause__, dg.Failure)
    assert "SHOWDOWN_DUCKDB_MEMORY_LIMIT='lots' is not a memory size" in refused.value.__cause__.description
    assert not (tmp_path / "home2").exists()


def test_a_step_may_ask_for_a_smaller_share_of_ram_unless_a_limit_is_set_by_hand(tmp_path, monkeypatch):
    """The integrity step's session gets an eighth of RAM by default (its statements fill whatever they are
    given, on top of what the run's process holds), every other session a quarter; a limit set by hand
    (SHOWDOWN_DUCKDB_MEMORY_LIMIT) holds for every session."""
    import duckdb

    from showdown_pipeline import settings
    from showdown_pipeline.defs.resources import build_resources

    def shown(limit_mb: int) -> str:  # how DuckDB reports a limit given in MB
        with duckdb.connect(config={"memory_limit": f"{limit_mb}MB"}) as conn:
            return conn.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]

    ram_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    assert settings.INTEGRITY_MEMORY_SHARE == 0.125 and settings.DEFAULT_MEMORY_SHARE == 0.25
    monkeypatch.delenv("SHOWDOWN_DUCKDB_MEMORY_LIMIT", raising=False)
    resources = build_resources(tmp_path / "landing", tmp_path / "home")

    def limit(session) -> str:
        return session.conn.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]

    with dg.build_resources({"warehouse": resources["warehouse"]}) as built:
        limits = []
        with built.warehouse.session() as outer:  # the default share
            limits.append(limit(outer))
            # DuckDB refuses a second connection to the file with another config: the limit is set on the
            # open connection (it is the database's: the outer session runs under it too), then put back
            with built.warehouse.session(memory_share=settings.INTEGRITY_MEMORY_SHARE) as inner:
                limits += [limit(inner), limit(outer)]
            limits.append(limit(outer))
        with built.warehouse.session(memory_share=settings.DEFAULT_MEMORY_SHARE) as s:
            limits.append(limit(s))
    quarter, eighth = (shown(max(512, int(ram_mb * share))) for share in (0.25, 0.125))
    assert limits == [quarter, eighth, eighth, quarter, quarter] and quarter != eighth
    monkeypatch.setenv("SHOWDOWN_DUCKDB_MEMORY_LIMIT", "512MB")
    resources = build_resources(tmp_path / "landing", tmp_path / "home2")
    with (
        dg.build_resources({"warehouse": resources["warehouse"]}) as built,
        built.warehouse.session(memory_share=settings.INTEGRITY_MEMORY_SHARE) as s,
    ):
        assert s.conn.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "488.2 MiB"


def test_spark_driver_memory_from_the_environment(monkeypatch, tmp_path):
    """A Spark on this machine gets the heap DuckDB gets (a quarter of RAM: Spark's 1g ran out on the 10M
    world); a cluster keeps its own setting; SHOWDOWN_SPARK_DRIVER_MEMORY wins, and a bad value is refused.
    Spark's default database folder goes under the home (it made `spark-warehouse/` wherever it ran)."""
    import pytest

    from showdown_pipeline import settings
    from showdown_pipeline.core.spark_warehouse import spark_config

    monkeypatch.delenv("SHOWDOWN_SPARK_DRIVER_MEMORY", raising=False)
    quarter = f"{int(settings.default_memory_limit().removesuffix('MB'))}m"
    assert settings.spark_driver_memory_from_env("local[2]") == quarter
    assert settings.spark_driver_memory_from_env("spark://127.0.0.1:7077") == quarter
    assert settings.spark_driver_memory_from_env("spark://10.1.2.3:7077") is None
    assert settings.spark_driver_memory_from_env("yarn") is None
    monkeypatch.setenv("SHOWDOWN_SPARK_DRIVER_MEMORY", " 8G ")
    assert settings.spark_driver_memory_from_env("yarn") == "8g"
    for bad in ("lots", "0g", "8 g", "-1g", "8gb", "1.5g", "8g; x"):
        monkeypatch.setenv("SHOWDOWN_SPARK_DRIVER_MEMORY", bad)
        with pytest.raises(ValueError, match="SHOWDOWN_SPARK_DRIVER_MEMORY"):
            settings.spark_driver_memory_from_env("local[2]")
    assert spark_config("local[2]", None, "8g")["spark.driver.memory"] == "8g"
    assert "spark.driver.memory" not in spark_config("local[2]")
    # Spark's default database folder goes under the home's local folder, not the working directory
    local = tmp_path / "home" / ".staging" / "spark-local"
    assert spark_config("local[2]", local)["spark.sql.warehouse.dir"] == str(local / "sql-warehouse")


def test_a_fresh_home_spills_what_does_not_fit(tmp_path, monkeypatch):
    """The warehouse spills to <home>/.tmp/duckdb; DuckDB makes only the last folder of that path, so the run
    makes the rest: on a fresh home, the first statement over the memory limit spills instead of failing
    (the 10M-vote build failed in its integrity step before this)."""
    from showdown_pipeline import settings
    from showdown_pipeline.defs.resources import build_resources

    monkeypatch.setenv("SHOWDOWN_DUCKDB_MEMORY_LIMIT", "64MB")
    resources = build_resources(tmp_path / "landing", tmp_path / "home")
    with dg.build_resources({"warehouse": resources["warehouse"]}) as built, built.warehouse.session() as s:
        sql = "SELECT sum(i * j) FROM (SELECT i, i % 7 AS j FROM range(8000000) t(i) ORDER BY hash(i))"
        assert s.conn.execute(sql).fetchall() == [(sum(i * (i % 7) for i in range(8_000_000)),)]
    assert settings.duckdb_spill_dir(tmp_path / "home").is_dir()


def test_the_pipelines_processes_run_blas_on_one_thread(tmp_path):
    """A process that loads the definitions, and `showdown rate`, hold numpy's and scipy's BLAS to one thread (a
    threaded BLAS made the bootstrap's small solves 100× slower on a busy machine and its sums depend on the
    core count). A fresh process each, with BLAS free to use every core as it starts."""
    import json
    import subprocess
    import sys

    probe = (
        "import json, sys, threadpoolctl\n"
        "{load}\n"
        "print(json.dumps([(i['internal_api'], i['num_threads'], i['filepath']) for i in "
        "threadpoolctl.threadpool_info() if i['user_api'] == 'blas']))\n"
    )
    loads = {
        "definitions": "import showdown_pipeline.definitions",
        "showdown rate": f"from showdown_pipeline import cli; cli.main(['rate', {str(tmp_path / 'none.jsonl')!r}])",
    }
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    for name, load in loads.items():
        out = subprocess.run(
            [sys.executable, "-c", probe.format(load=load)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        blas = json.loads(out.stdout.strip().splitlines()[-1])
        assert {path.rsplit("/", 1)[-1].split("-")[0] for _, _, path in blas} >= {
            "libscipy_openblas64_",
            "libscipy_openblas",
        }, (name, blas)
        assert all(threads == 1 for _, threads, _ in blas), (name, blas)


def test_defaults_follow_a_containers_cgroup_limits(tmp_path, monkeypatch):
    """DuckDB's default threads and memory limit (and so the Spark driver's heap on this machine) follow a
    container's cgroup v2 limits where they are smaller than the machine: a quota of 1.5 CPUs is 2 threads
    at most, a 2 GiB memory.max a 512 MB limit; `max`, a missing file or garbage change nothing."""
    from showdown_pipeline import settings

    machine_threads, machine_memory = int(settings.default_threads()), settings.default_memory_limit()
    monkeypatch.setattr(settings, "CGROUP_ROOT", tmp_path)
    assert (settings.default_threads(), settings.default_memory_limit()) == (
        str(machine_threads),
        machine_memory,
    )
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    (tmp_path / "memory.max").write_text(f"{2 * 2**30}\n")
    assert settings.default_threads() == str(min(machine_threads, 2))
    assert settings.default_memory_limit() == "512MB"
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    (tmp_path / "memory.max").write_text(f"{8 * 2**30}\n")
    assert settings.default_threads() == "1"
    assert settings.default_memory_limit() == f"{min(2048, int(machine_memory.removesuffix('MB')))}MB"
    for garbage in ("max 100000\n", "max\n", "", "12abc 100000\n", "-5 100000\n"):
        (tmp_path / "cpu.max").write_text(garbage)
        (tmp_path / "memory.max").write_text(garbage)
        assert (settings.default_threads(), settings.default_memory_limit()) == (
            str(machine_threads),
            machine_memory,
        )
