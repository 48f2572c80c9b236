"""The Spark engine against the DuckDB engine: the whole pipeline on one corrupt demo world, run once on each,
gives the same accounting, the same integrity flags, the same licensed export rows and the same ratings (to
1e-6 Elo); and the same world runs against a one-worker standalone Spark cluster on 127.0.0.1.

The two runs share nothing but the landing zone: each has its own home (DuckDB: warehouse.duckdb; Spark: the
Parquet tables under <home>/spark). Spark runs at local[2] with 4 shuffle partitions (spark_config)."""

from __future__ import annotations

import json
from datetime import date

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
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


def test_duckdb_and_spark_agree_on_a_corrupt_world(landing, tmp_path, monkeypatch):
    duck = run_engine("duckdb", landing, tmp_path / "duckdb", monkeypatch)
    spark = run_engine("spark", landing, tmp_path / "spark", monkeypatch)

    assert (duck["files"]["status"] == "rejected").any()  # the corrupt world has whole files rejected
    pd.testing.assert_frame_equal(spark["files"], duck["files"])
    for key in ("rows_in", "valid", "duplicates", "quarantined", "quarantine_by_reason"):
        if key in duck["validation"]:
            assert spark["validation"][key] == duck["validation"][key], key
    assert spark["manifest"]["input"] == duck["manifest"]["input"]
    integrity = lambda m: {k: v for k, v in m["integrity"].items() if k != "run"}  # noqa: E731
    assert integrity(spark["manifest"]) == integrity(duck["manifest"])
    pd.testing.assert_frame_equal(spark["flags"], duck["flags"], check_dtype=False)
    assert len(duck["export"]) > 1000
    pd.testing.assert_frame_equal(spark["export"], duck["export"], check_dtype=False)

    board_d, board_s = duck["board"], spark["board"]
    keys = ["board", "segment_dim", "segment_value", "model_id"]
    board_d, board_s = (b.sort_values(keys).reset_index(drop=True) for b in (board_d, board_s))
    assert len(board_d) > 50
    pd.testing.assert_frame_equal(board_s[keys], board_d[keys])
    floats = [c for c in board_d.columns if pd.api.types.is_float_dtype(board_d[c])]
    elo = [c for c in floats if c.startswith(("rating", "lower", "upper", "cluster_", "sandwich_"))]
    assert elo, floats
    for column in elo:
        diff = (board_s[column] - board_d[column]).abs().max()
        assert diff <= ELO or (board_s[column].isna() == board_d[column].isna()).all() and pd.isna(diff), column
