"""The published numbers are a function of the landing zone alone: the same boards, bit for bit, whatever
the warehouse's thread count and whatever order its tables hold their rows in.

CI (2 cores) once failed test_kill_runs on `cluster_lower` differing in the last bits between two runs
on the same landing zone: voter_pair_outcome_counts.sql returned its cells in no fixed order, and the
clustered sandwich sums in row order. Every statement whose rows feed math is now ordered, and every float
aggregate in SQL sums in a fixed order (integer counts elsewhere).
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import duckdb
import pandas as pd
import pytest

from showdown_pipeline import settings, snapshots
from showdown_pipeline.core import demo_world
from showdown_pipeline.definitions import ASSET_CHECKS, REBUILD_ASSETS
from showdown_pipeline.defs.partitions import landing_range_tags
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.conftest import cut_tags

pytestmark = pytest.mark.slow

AS_OF = "2026-06-01"
WORLD = demo_world.WorldConfig(votes=30_000, days=20, end=date(2026, 6, 1), seed=5, n_models=12)
UP_TO_VALIDATION = ("landing_zone_ingest", "model_registry", "validated_contributors", "validated_votes")
# every table integrity and ratings read, rewritten in another physical row order before they run
SHUFFLED = ("votes_clean", "contributor_profiles", "model_registry")
RATINGS_CONFIG = {
    "overall_ratings": {"config": {"bootstrap_rounds": 200, "workers": 1}},
    "segment_ratings": {"config": {"bootstrap_rounds": 50}},
}


def _materialize(landing, home, instance, keys: tuple[str, ...] | None) -> None:
    result = dg.materialize(
        [*REBUILD_ASSETS, *ASSET_CHECKS],
        selection=dg.AssetSelection.assets(*keys) if keys else None,
        resources=build_resources(landing, home),
        run_config={"ops": RATINGS_CONFIG if keys is None or "overall_ratings" in keys else {}},
        instance=instance,
        tags={**landing_range_tags(landing), **cut_tags(AS_OF)},
        raise_on_error=False,
    )
    assert result.success, [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]


def _keys(which) -> tuple[str, ...]:
    return tuple(k.to_user_string() for a in REBUILD_ASSETS if which(a.node_def.name) for k in a.keys)


def _shuffle(home) -> None:
    """Rewrite each table in a row order no insertion ever produced (by a hash of its whole row)."""
    with duckdb.connect(str(settings.warehouse_path(home))) as conn:
        for table in SHUFFLED:
            read = f"SELECT * FROM {table} LIMIT 5"  # noqa: S608 - fixed table names
            hashed = f"SELECT * FROM {table} ORDER BY md5(CAST({table} AS VARCHAR))"  # noqa: S608
            before = conn.execute(read).fetchall()
            conn.execute(f"CREATE OR REPLACE TABLE {table} AS {hashed}")
            assert conn.execute(read).fetchall() != before, table


def _published(home) -> tuple[pd.DataFrame, dict]:
    snap = snapshots.latest(home)
    manifest = snap.manifest
    kept = {k: manifest[k] for k in ("data_cut", "input", "parameters", "segments", "style")}
    kept["integrity"] = {k: v for k, v in manifest["integrity"].items() if k != "run"}
    files = [{k: v for k, v in f.items() if k != "status"} for f in kept["input"]["files"]]  # runs differ
    kept["input"] = {**kept["input"], "files": files}
    for section in ("parameters", "style"):
        kept[section] = {k: v for k, v in kept[section].items() if k != "run"}
    kept["segments"] = {d: {k: v for k, v in p.items() if k != "run"} for d, p in kept["segments"].items()}
    return snap.leaderboard(), kept


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    root = tmp_path_factory.mktemp("world") / "landing"
    demo_world.generate(root, WORLD)
    return root


def test_the_boards_are_bit_for_bit_the_same_with_1_or_4_threads_and_shuffled_tables(
    landing, tmp_path, monkeypatch
):
    """Home A: one DuckDB thread, tables in insertion order. Home B: four threads, and after validation
    votes_clean, contributor_profiles and model_registry rewritten in a hashed row order, then integrity,
    ratings and publish. Every leaderboard cell (ratings, bootstrap, sandwich and voter-clustered intervals,
    segment boards, style board) and the manifest's accounting, integrity and parameters are equal exactly.
    Before the fix the clustered interval (voter cells in no fixed order), the style board (rows in no
    fixed order) and integrity's float sums (added in whatever order the threads finished) varied."""
    monkeypatch.setenv("SHOWDOWN_DUCKDB_THREADS", "1")
    _materialize(landing, tmp_path / "a", dg.DagsterInstance.ephemeral(), None)
    board_a, manifest_a = _published(tmp_path / "a")

    monkeypatch.setenv("SHOWDOWN_DUCKDB_THREADS", "4")
    instance = dg.DagsterInstance.ephemeral()
    _materialize(landing, tmp_path / "b", instance, _keys(lambda node: node in UP_TO_VALIDATION))
    _shuffle(tmp_path / "b")
    _materialize(landing, tmp_path / "b", instance, _keys(lambda node: node not in UP_TO_VALIDATION))
    board_b, manifest_b = _published(tmp_path / "b")

    assert len(board_a) > 100 and board_a["cluster_lower"].notna().any()
    assert set(board_a["board"]) == {"raw", "style"} and board_a["segment_dim"].nunique() > 1
    pd.testing.assert_frame_equal(board_b, board_a, check_exact=True)
    for section in manifest_a:
        assert manifest_b[section] == manifest_a[section], section
