"""Each stage materialized alone on a small prepared warehouse (the session's messy landing zone, ingested and
validated once, copied per test): what the stage writes, the tables it declares, the run that made them."""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg
import duckdb
import pandas as pd
import pytest

from showdown_pipeline import cli
from showdown_pipeline.core import records
from showdown_pipeline.core.boards import SEGMENT_DIMENSIONS
from showdown_pipeline.core.integrity.run import IntegrityOptions, read_inputs, run_integrity
from showdown_pipeline.core.records import PARAMETER_TABLES
from showdown_pipeline.core.run_cut import RunCut
from showdown_pipeline.core.warehouse import duckdb_session
from showdown_pipeline_tests.conftest import copy_home, materialization_metadata, materialize_pipeline

INTEGRITY_TABLES = {"user_flags", "vote_exclusions", "votes_counted", "vote_reviews", "integrity_summary"}


def _tables(home):
    with duckdb_session(home / "warehouse.duckdb", read_only=True) as session:
        return session.table_names()


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_the_integrity_stage_alone_writes_and_declares_its_five_tables(validated_template, tmp_path):
    """Integrity on a validated warehouse: exactly its five tables appear, each an asset of this run; the
    summary holds this run's cut and its counts agree with the tables."""
    home = copy_home(validated_template.home, tmp_path / "home")
    before = _tables(home)
    result = materialize_pipeline(validated_template.landing.root, home, stages=("integrity",))
    assert result.success, cli.failure_reason(result)
    assert _materialized(result) == INTEGRITY_TABLES
    assert _tables(home) - before == INTEGRITY_TABLES
    with duckdb_session(home / "warehouse.duckdb", read_only=True) as session:
        summary = records.load_integrity_summary(session)
        clean = session.one("validate/vote_counts")["clean"]
        counted = session.read_table("votes_counted").num_rows
        reviews = session.read_table("vote_reviews").num_rows
    assert summary["run"]["run_id"] == result.run_id and summary["as_of"] == "2026-06-01"
    assert counted == summary["votes_counted"] == clean - summary["votes_removed"]
    assert summary["upsets_for_review"] == reviews
    assert materialization_metadata(result, "integrity_summary")["run_id"] == result.run_id
    assert materialization_metadata(result, "votes_counted")["dagster/row_count"] == counted


def test_the_ratings_stage_alone_records_each_boards_parameters_in_its_own_table(counted_template, tmp_path):
    """Ratings on a warehouse whose counted votes exist: every board and its parameters, each parameter
    table written by the one op that owns it and recording this run and cut."""
    home = copy_home(counted_template.home, tmp_path / "home")
    result = materialize_pipeline(counted_template.landing.root, home, stages=("ratings",))
    assert result.success, cli.failure_reason(result)
    boards = {"overall_ratings", "style_ratings", *(f"{d}_ratings" for d in SEGMENT_DIMENSIONS)}
    assert _materialized(result) == boards | set(PARAMETER_TABLES.values()) | {records.SAMPLING_PLAN_TABLE}
    with duckdb_session(home / "warehouse.duckdb", read_only=True) as session:
        for board in PARAMETER_TABLES:
            recorded = records.load_parameters(session, board)
            assert recorded["run"]["run_id"] == result.run_id and recorded["run"]["as_of"] == "2026-06-01"
        segment_rows = session.read_table("segment_rating_parameters").column("board").to_pylist()
    assert sorted(segment_rows) == sorted(SEGMENT_DIMENSIONS)


def test_one_board_materialized_alone_rewrites_only_its_parameters_and_says_so(counted_template, tmp_path):
    """An analyst materializing country_ratings alone: its row of segment_rating_parameters is rewritten
    (and the event log records that table's materialization), the other dimensions' rows keep the run
    that made them; style_ratings alone likewise records style_rating_parameters."""
    home = copy_home(counted_template.home, tmp_path / "home")
    landing = counted_template.landing.root
    first = materialize_pipeline(landing, home, stages=("ratings",))
    assert first.success
    rerun = dg.materialize(
        [*_rebuild_assets()],
        selection=dg.AssetSelection.assets("country_ratings", "style_ratings"),
        resources=_resources(landing, home),
        tags={"showdown/as_of": "2026-06-01"},
    )
    assert _materialized(rerun) == {
        "country_ratings",
        "segment_rating_parameters",
        "style_ratings",
        "style_rating_parameters",
    }
    with duckdb_session(home / "warehouse.duckdb", read_only=True) as session:
        rows = {
            r["board"]: json.loads(r["parameters"])
            for r in session.read_table(PARAMETER_TABLES["country"]).to_pylist()
        }
        assert records.load_parameters(session, "style")["run"]["run_id"] == rerun.run_id
        assert records.load_parameters(session, "overall")["run"]["run_id"] == first.run_id
    assert rows["country"]["run"]["run_id"] == rerun.run_id
    assert {rows[d]["run"]["run_id"] for d in SEGMENT_DIMENSIONS if d != "country"} == {first.run_id}


def test_a_board_of_a_never_rated_warehouse_asks_for_overall_ratings_first(counted_template, tmp_path):
    """style_ratings alone on a warehouse with no raw board: one line naming what to materialize first."""
    home = copy_home(counted_template.home, tmp_path / "home")
    result = dg.materialize(
        [*_rebuild_assets()],
        selection=dg.AssetSelection.assets("style_ratings"),
        resources=_resources(counted_template.landing.root, home),
        tags={"showdown/as_of": "2026-06-01"},
        raise_on_error=False,
    )
    assert not result.success
    reason = cli.failure_reason(result)
    assert reason.startswith("style_ratings: ") and "\n" not in reason
    assert reason.endswith("no parameters for the overall board: materialize overall_ratings first")


@pytest.mark.parametrize("stage", ["integrity", "ratings"])
def test_a_stage_run_before_its_inputs_exist_fails_in_one_line(validated_template, tmp_path, stage):
    """A stage run on a warehouse that lacks its inputs fails with the statement that could not run,
    never half-writes its tables."""
    home = tmp_path / "home"
    result = materialize_pipeline(validated_template.landing.root, home, stages=(stage,))
    assert not result.success
    reason = cli.failure_reason(result)
    assert "\n" not in reason and reason.split(":")[0] in {"integrity_checks", "overall_ratings"}
    assert not _materialized(result)


def _rebuild_assets():
    from showdown_pipeline.definitions import REBUILD_ASSETS

    return REBUILD_ASSETS


def _resources(landing, home):
    from showdown_pipeline.defs.resources import build_resources

    return build_resources(landing, home)


def test_integrity_at_a_cut_ignores_votes_landed_after_it(validated_template, tmp_path):
    """A board of a cut is reproducible after later days land: votes after the cut neither link voters
    (a network hash shared only after the cut) nor count in the summary's votes_counted. The later votes are
    copies of real rows of votes_clean moved past the cut, cast by three voters sharing one ip hash.
    Fails on the code that read shared identities and counted votes over the whole table."""
    home = copy_home(validated_template.home, tmp_path / "home")
    warehouse = home / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        (median_day,) = conn.execute("SELECT CAST(median(voted_at) AS DATE) FROM votes_clean").fetchall()[0]
    cut = RunCut(as_of=median_day)
    options = IntegrityOptions(fragility=False)

    def integrity():
        with duckdb_session(warehouse) as session:
            result = run_integrity(session, cut, options, {"run": "test"})
            inputs, _ = read_inputs(session, cut.cutoff, options.thresholds, None, 0, options.anomaly_seed)
        return result, inputs.shared.sort_values("identity").reset_index(drop=True)

    first, first_shared = integrity()
    shared_hash = "f" * 64
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute(
            """
            INSERT INTO votes_clean
            SELECT * REPLACE (
                'after-cut-' || row_number() OVER (ORDER BY row_key) AS row_key,
                (SELECT list(DISTINCT user_id ORDER BY user_id)[1:3] FROM votes_clean)[
                    1 + (row_number() OVER (ORDER BY row_key)) % 3] AS user_id,
                $after AS voted_at,
                $shared_hash AS ip_hash
            )
            FROM votes_clean ORDER BY row_key LIMIT 30
            """,
            {"after": cut.cutoff + timedelta(days=1), "shared_hash": shared_hash},
        )
    second, second_shared = integrity()
    assert not second_shared["identity"].str.contains(shared_hash).any()
    pd.testing.assert_frame_equal(second_shared, first_shared)
    assert second.summary["votes_counted"] == first.summary["votes_counted"]
    assert second.flags.equals(first.flags)
    assert second.exclusions.equals(first.exclusions)
