"""The Spark engine against the DuckDB engine: the whole pipeline on one corrupt demo world, run once on each,
gives the same accounting, the same integrity flags, the same licensed export rows and the same ratings (to
1e-6 Elo); and the same world runs against a one-worker standalone Spark cluster on 127.0.0.1.

The two runs share nothing but the landing zone: each has its own home (DuckDB: warehouse.duckdb; Spark: the
Parquet tables under <home>/spark). Spark runs at local[2] with 4 shuffle partitions (spark_config)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pyspark
import pytest

from showdown_pipeline import snapshots
from showdown_pipeline.core import demo_world, holdout
from showdown_pipeline.definitions import LICENSING_ASSETS
from showdown_pipeline.defs.resources import WarehouseResource, build_resources
from showdown_pipeline_tests.conftest import TEST_SECRET, materialize_pipeline

pytestmark = pytest.mark.slow

AS_OF = "2026-06-01"
EXPORT_AS_OF = "2026-08-15"  # every vote of the world is older than the 60-day holdout then
LICENSEE = "acme"
WORLD = demo_world.WorldConfig(
    votes=50_000, days=14, end=date(2026, 6, 1), seed=11, n_models=12, corrupt_rate=0.02
)
ELO = 1e-6


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark-world") / "landing"
    demo_world.generate(root, WORLD)
    return root


def run_engine(engine: str, landing, home, monkeypatch) -> dict:
    """The whole pipeline and one licensed export on `engine`; what the comparison reads of it."""
    monkeypatch.setenv("SHOWDOWN_ENGINE", engine)
    monkeypatch.setenv(holdout.SECRET_ENV, TEST_SECRET)
    result = materialize_pipeline(landing, home, as_of=AS_OF, segment_bootstrap=20)
    assert result.success, [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("licensees", [LICENSEE])
    exported = dg.materialize(
        LICENSING_ASSETS,
        partition_key=LICENSEE,
        resources=build_resources(landing, home),
        instance=instance,
        run_config={"ops": {"licensed_export_staged": {"config": {"as_of": EXPORT_AS_OF}}}},
        raise_on_error=False,
    )
    assert exported.success, [e.message for e in exported.all_events if e.event_type_value == "STEP_FAILURE"]
    with WarehouseResource(home_dir=str(home), engine=engine).session() as session:
        files = session.read_table("landing_files").to_pandas()
        flags = session.read_table("user_flags").to_pandas()
        validation = json.loads(session.one("validate/validation_summary")["summary"])
    snap = snapshots.latest(home)
    export = pq.read_table(home / "exports" / LICENSEE / EXPORT_AS_OF / "votes.parquet").to_pandas()
    return {
        "files": files[["path", "kind", "status", "rows_in", "blank_lines", "error"]]
        .sort_values("path")
        .reset_index(drop=True),
        "flags": flags.sort_values(list(flags.columns[:2])).reset_index(drop=True),
        "validation": validation,
        "manifest": snap.manifest,
        "board": snap.leaderboard(),
        "export": export.sort_values("vote_key").reset_index(drop=True),
    }


@pytest.fixture(scope="module")
def duckdb_run(landing, tmp_path_factory) -> dict:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return run_engine("duckdb", landing, tmp_path_factory.mktemp("duckdb-home"), monkeypatch)


def _integrity(manifest: dict) -> dict:
    return {k: v for k, v in manifest["integrity"].items() if k != "run"}


def _boards_agree(board_s: pd.DataFrame, board_d: pd.DataFrame) -> None:
    """The same rows (board, segment, model) and every rating, interval and bound within 1e-6 Elo."""
    keys = [k for k in ("board", "segment_dim", "segment_value", "model_id") if k in board_d.columns]
    board_d, board_s = (b.sort_values(keys).reset_index(drop=True) for b in (board_d, board_s))
    assert len(board_d) > 50
    pd.testing.assert_frame_equal(board_s[keys], board_d[keys])
    floats = [c for c in board_d.columns if pd.api.types.is_float_dtype(board_d[c])]
    assert floats
    for column in floats:
        same_missing = (board_s[column].isna() == board_d[column].isna()).all()
        diff = (board_s[column] - board_d[column]).abs().max()
        assert same_missing and (pd.isna(diff) or diff <= ELO), (column, diff)


def test_duckdb_and_spark_agree_on_a_corrupt_world(landing, duckdb_run, tmp_path, monkeypatch):
    """Spark at local[2]: the same ledger (file statuses, rows in, blank lines, errors), the same validation
    accounting (rows in, valid, duplicates, quarantine by reason), the same integrity flags and counts, the
    same licensed export rows (HMAC keys included) and the same boards."""
    duck = duckdb_run
    spark = run_engine("spark", landing, tmp_path / "spark", monkeypatch)

    assert (duck["files"]["status"] == "rejected").any()  # the corrupt world has whole files rejected
    pd.testing.assert_frame_equal(spark["files"], duck["files"])
    run_free = lambda summary: {k: v for k, v in summary.items() if k != "run_id"}  # noqa: E731
    assert run_free(spark["validation"]) == run_free(duck["validation"])
    assert spark["manifest"]["input"] == duck["manifest"]["input"]
    assert _integrity(spark["manifest"]) == _integrity(duck["manifest"])
    pd.testing.assert_frame_equal(spark["flags"], duck["flags"], check_dtype=False)
    assert len(duck["export"]) > 1000
    pd.testing.assert_frame_equal(spark["export"], duck["export"], check_dtype=False)
    _boards_agree(spark["board"], duck["board"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode}"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def _spark_daemon(spark_class: Path, env: dict, log: Path, *args: str) -> subprocess.Popen:
    with open(log, "w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([str(spark_class), *args], env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def standalone_cluster(tmp_path):
    """A Spark standalone master and one worker (1 core, 1 GB) on 127.0.0.1, started with the `spark-class`
    script the pyspark package ships (it has no start-master.sh), stopped by their own process ids."""
    spark_home = Path(pyspark.__file__).parent
    spark_class = spark_home / "bin" / "spark-class"
    assert spark_class.is_file(), "the pyspark package no longer ships bin/spark-class"
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }
    port, worker_port = _free_port(), _free_port()
    started: list[subprocess.Popen] = []
    try:
        master = _spark_daemon(
            spark_class, env, tmp_path / "master.log", "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(_free_port()),
        )  # fmt: skip
        started.append(master)
        _wait_for_port(port, master)
        worker = _spark_daemon(
            spark_class, env, tmp_path / "worker.log", "org.apache.spark.deploy.worker.Worker",
            "--host", "127.0.0.1", "--port", str(worker_port), "--webui-port", str(_free_port()),
            "--cores", "1", "--memory", "1g", "--work-dir", str(tmp_path / "work"), f"spark://127.0.0.1:{port}",
        )  # fmt: skip
        started.append(worker)
        _wait_for_port(worker_port, worker)
        yield f"spark://127.0.0.1:{port}"
    finally:
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _cli_run(landing, home, engine: str, master: str | None = None) -> snapshots.Snapshot:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOWDOWN_")}
    env |= {"SHOWDOWN_ENGINE": engine, "PYSPARK_PYTHON": sys.executable, "DAGSTER_DISABLE_TELEMETRY": "1"}
    if master:
        env["SHOWDOWN_SPARK_MASTER"] = master
    showdown = Path(sys.executable).parent / "showdown"
    out = subprocess.run(
        [str(showdown), "run", "--landing", str(landing), "--home", str(home), "--as-of", AS_OF],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return snapshots.latest(home)


def test_the_same_world_runs_on_a_standalone_cluster(landing, standalone_cluster, tmp_path):
    """`showdown run` with SHOWDOWN_ENGINE=spark and SHOWDOWN_SPARK_MASTER=spark://127.0.0.1:PORT (the
    one-worker standalone cluster) publishes what `showdown run` on DuckDB publishes: the same accounting,
    integrity counts and boards (to 1e-6 Elo)."""
    duck = _cli_run(landing, tmp_path / "duckdb", "duckdb")
    spark = _cli_run(landing, tmp_path / "cluster", "spark", standalone_cluster)
    assert spark.manifest["input"] == duck.manifest["input"]
    assert _integrity(spark.manifest) == _integrity(duck.manifest)
    _boards_agree(spark.leaderboard(), duck.leaderboard())
