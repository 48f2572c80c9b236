"""A run carries its own data cut, anchor and seed (run tags), read once: a run crossing midnight keeps one
cut, another run rewriting the tables mid-run cannot smuggle its cut into this run's snapshot, and the
schedule, the sensor, the CLI and UI launches all give the run its cut."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from showdown_pipeline import cli, settings, snapshots
from showdown_pipeline.core import boards, run_cut
from showdown_pipeline.definitions import ASSET_CHECKS, REBUILD_ASSETS
from showdown_pipeline.defs import automation
from showdown_pipeline.defs.partitions import landing_range_tags
from showdown_pipeline.defs.publish import assets as publish_assets
from showdown_pipeline.defs.resources import ShowdownPaths, build_resources
from showdown_pipeline_tests.conftest import cut_tags, materialize_pipeline
from showdown_pipeline_tests.landing_builder import (
    build_messy_landing,
    random_valid_votes,
    write_jsonl,
    write_models,
)


class _MidnightClock(datetime):
    """datetime whose now() reads 23:59:59.9 UTC the first time and the next day afterwards."""

    calls = 0

    @classmethod
    def now(cls, tz=None):
        cls.calls += 1
        instant = datetime(2030, 1, 1, 23, 59, 59, 900_000, tzinfo=UTC)
        if cls.calls > 1:
            instant += timedelta(seconds=1)
        return instant.astimezone(tz) if tz else instant.replace(tzinfo=None)


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    root = build_messy_landing(tmp_path_factory.mktemp("cut") / "landing").root
    landed = datetime(2026, 5, 30, 12, tzinfo=UTC).timestamp()  # files landed before the nightly tick below
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (landed, landed))
    return root


def test_a_run_whose_steps_straddle_midnight_uses_one_cut(landing, tmp_path, monkeypatch):
    """No tag: the cut is the UTC date the run was created, read once; steps that read the clock on either
    side of midnight (the pipeline's one clock, moved here) do not each pick their own "today"."""
    monkeypatch.setattr(settings, "datetime", _MidnightClock)
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_pipeline(landing, tmp_path / "home", as_of=None, instance=instance)
    assert result.success, cli.failure_reason(result)
    created = instance.get_run_record_by_id(result.run_id).create_timestamp
    created_day = (created if created.tzinfo else created.replace(tzinfo=UTC)).astimezone(UTC).date()
    manifest = snapshots.latest(tmp_path / "home").manifest
    assert manifest["data_cut"]["as_of"] == created_day.isoformat()
    assert manifest["integrity"]["as_of"] == created_day.isoformat()
    assert manifest["run"]["as_of"] == created_day.isoformat() and "as_of" in manifest["run"]["defaults"]
    assert {s["run"]["as_of"] for s in manifest["segments"].values()} == {created_day.isoformat()}
    # the cut the run used is written on the run, so the UI shows it and a re-execution keeps it
    assert instance.get_run_by_id(result.run_id).tags[run_cut.TAG_AS_OF] == created_day.isoformat()


def test_another_run_rewriting_the_tables_mid_run_cannot_publish_its_cut(landing, tmp_path, monkeypatch):
    """Run A (cut 2026-06-01) makes its boards; run B (cut 2026-05-01) rewrites counted votes and boards; A
    reaches publish: A refuses, nothing is published under A's name with B's cut."""
    home = tmp_path / "home"
    original = publish_assets.read_boards
    interleaved = {}

    def run_b_then_read(conn):
        if not interleaved:
            selection = dg.AssetSelection.assets(
                "votes_counted", "overall_ratings", "style_ratings"
            ).required_multi_asset_neighbors() | dg.AssetSelection.assets(
                *[f"{d}_ratings" for d in ("country", "age_band")]
            )
            interleaved["b"] = dg.materialize(
                [*REBUILD_ASSETS, *ASSET_CHECKS],
                selection=selection,
                resources=build_resources(landing, home),
                run_config={"ops": {"overall_ratings": {"config": {"bootstrap_rounds": 20}}}},
                tags=cut_tags("2026-05-01"),
                raise_on_error=False,
            )
        return original(conn)

    monkeypatch.setattr(publish_assets, "read_boards", run_b_then_read)
    run_a = materialize_pipeline(landing, home, as_of="2026-06-01")
    assert interleaved["b"].success, cli.failure_reason(interleaved["b"])
    assert not run_a.success
    reason = cli.failure_reason(run_a)
    assert reason.startswith("leaderboard_snapshot: ") and "was rewritten by run" in reason
    assert reason.split("by run ")[1][:8] == interleaved["b"].run_id[:8]
    assert not (home / "snapshots" / "LATEST").exists()


def test_a_publish_only_run_refuses_boards_of_another_cut(landing, tmp_path):
    """An analyst publishing alone: boards made as of 2026-06-01 are not published under a 2026-05-01 cut."""
    home = tmp_path / "home"
    first = materialize_pipeline(landing, home, as_of="2026-06-01")
    assert first.success
    instance = dg.DagsterInstance.ephemeral()
    publish = dg.materialize(
        [*REBUILD_ASSETS, *ASSET_CHECKS],
        selection=dg.AssetSelection.assets("leaderboard_snapshot"),
        resources=build_resources(landing, home),
        tags=cut_tags("2026-05-01"),
        instance=instance,
        raise_on_error=False,
    )
    assert not publish.success
    reason = cli.failure_reason(publish)
    assert "as_of '2026-06-01' (this run: '2026-05-01')" in reason
    assert [s.snapshot_id for s in snapshots.list_all(home)] == [snapshots.latest(home).snapshot_id]


def _partial(landing, home, instance, *keys: str, **config) -> dg.ExecuteInProcessResult:
    """A run (cut 2026-06-01) that materializes only `keys`, as an analyst launches one from the UI."""
    return dg.materialize(
        [*REBUILD_ASSETS, *ASSET_CHECKS],
        selection=dg.AssetSelection.assets(*keys),
        resources=build_resources(landing, home),
        instance=instance,
        run_config={"ops": config},
        tags={**landing_range_tags(landing), **cut_tags("2026-06-01")},
        raise_on_error=False,
    )


VALIDATE = [
    k.to_user_string() for a in REBUILD_ASSETS if a.node_def.name == "validated_votes" for k in a.keys
]
INGEST = ("landing_files", "raw_votes", "raw_contributors", "raw_models")


def test_a_publish_only_run_does_not_mix_the_boards_with_a_later_ingest(tmp_path):
    """Run A publishes; new votes land; run B only ingests and validates them; run C only publishes. C used
    to be accepted (same cut): its boards and counted votes were A's, its manifest's input section B's, N
    more valid rows than its boards were fitted on (attack 12). Now every derived table records the state
    of the landing ledger it was made from (core/data_state.py) and C refuses in one line naming the table
    and both states; once integrity and ratings are remade, a publish-only run goes through and its
    accounting and boards describe one state."""
    root, home = build_messy_landing(tmp_path / "landing").root, tmp_path / "home"
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_pipeline(root, home, instance=instance).success
    before = snapshots.latest(home)
    write_jsonl(
        root / "votes" / "2026-03-05" / "late.jsonl",
        random_valid_votes(50_000, 400, ["m-a", "m-b", "m-c"], seed=9),
    )
    assert _partial(root, home, instance, *INGEST, *VALIDATE).success
    publish = _partial(root, home, instance, "leaderboard_snapshot")
    assert not publish.success
    reason = cli.failure_reason(publish)
    assert reason.startswith("leaderboard_snapshot: ") and "snapshot not published: " in reason
    assert "\n" not in reason
    assert "from another state of the landing zone" in reason and "the ledger now holds" in reason
    assert snapshots.latest(home).snapshot_id == before.snapshot_id

    remade = [a for a in REBUILD_ASSETS if a.node_def.name in ("integrity_checks", "overall_ratings")]
    keys = [k.to_user_string() for a in remade for k in a.keys]
    ratings = {"overall_ratings": {"config": {"bootstrap_rounds": 20}}}
    assert _partial(root, home, instance, *keys, **ratings).success
    partly = _partial(root, home, instance, "leaderboard_snapshot")  # style and segments are A's still
    assert not partly.success and "style_ratings was made by run" in cli.failure_reason(partly)
    rest = ["style_ratings", *[f"{d}_ratings" for d in boards.SEGMENT_DIMENSIONS]]
    remade_rest = _partial(root, home, instance, *rest)
    assert remade_rest.success, cli.failure_reason(remade_rest)
    published = _partial(root, home, instance, "leaderboard_snapshot")
    assert published.success, cli.failure_reason(published)
    after = snapshots.latest(home)
    overall = after.leaderboard().query("board == 'raw' and segment_dim == 'overall'")
    assert after.manifest["input"]["valid"] == before.manifest["input"]["valid"] + 400
    assert int(overall["votes"].sum()) // 2 == after.manifest["integrity"]["votes_counted"]


def test_counted_votes_remade_after_the_boards_are_not_published_with_them(landing, tmp_path):
    """Same landing zone, but integrity remade by another run (here with a private anomaly seed, which may
    flag other voters) after the boards were fitted: the boards come from counted votes that no longer
    exist, so publish refuses, naming both runs; the integrity section would not describe the boards."""
    home, instance = tmp_path / "home", dg.DagsterInstance.ephemeral()
    assert materialize_pipeline(landing, home, instance=instance).success
    before = snapshots.latest(home).snapshot_id
    integrity = [
        k.to_user_string() for a in REBUILD_ASSETS if a.node_def.name == "integrity_checks" for k in a.keys
    ]
    again = _partial(
        landing, home, instance, *integrity, integrity_checks={"config": {"anomaly_seed": 12345}}
    )
    assert again.success, cli.failure_reason(again)
    publish = _partial(landing, home, instance, "leaderboard_snapshot")
    assert not publish.success
    reason = cli.failure_reason(publish)
    assert (
        "from votes_counted of run" in reason and f"which run {again.run_id[:8]} has remade since" in reason
    )
    assert snapshots.latest(home).snapshot_id == before


def _volume_reason(snap) -> str:
    (row,) = [
        r for r in snap.manifest["breakers"]["evaluated"] if r["breaker"] == "counted_votes_not_collapsed"
    ]
    return row["reason"]


def test_an_earlier_cut_is_published_beside_latest_and_never_moves_it_back(tmp_path, monkeypatch, capsys):
    """LATEST holds a cut of 2026-06-01 (~800 votes). A run as of 2026-04-01 (a backfill, or a typo) used to
    move LATEST back two months with half the votes, no breaker tripped (attack 12). Now it is published in
    its own folder, its manifest says LATEST stayed, the CLI says so, and LATEST is unchanged; its breakers
    compare with the newest snapshot at or before its cut (none here; April's for a May backfill). A later
    run with LATEST's cut replaces it as before."""
    root, home = tmp_path / "landing", tmp_path / "home"
    models = ["m-a", "m-b", "m-c"]
    write_models(root / "models.csv", [(m, m, "acme", "2025-01-01", None) for m in models])
    write_jsonl(root / "votes" / "march.jsonl", random_valid_votes(0, 400, models, seed=1))
    write_jsonl(root / "votes" / "april.jsonl", random_valid_votes(60_000, 400, models, seed=2))  # ~Apr 12
    assert materialize_pipeline(root, home, as_of="2026-06-01").success
    june = snapshots.latest(home)

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))  # the CLI sets it; restored after
    argv = ["run", "--landing", str(root), "--home", str(home), "--as-of", "2026-04-01"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    april = next(s for s in snapshots.list_all(home) if s.snapshot_id.startswith("2026-04-01_"))
    assert snapshots.latest(home).snapshot_id == june.snapshot_id
    assert (
        april.manifest["latest"]["moved"] is False and april.manifest["latest"]["stays"] == june.snapshot_id
    )
    assert f"snapshot: {april.path}" in printed and f"LATEST stays at {june.snapshot_id}" in printed
    assert april.manifest["data_cut"]["counted_before_cut"] < june.manifest["data_cut"]["counted_before_cut"]
    assert _volume_reason(april) == "no earlier snapshot to compare with"

    assert materialize_pipeline(root, home, as_of="2026-05-01").success
    may = next(s for s in snapshots.list_all(home) if s.snapshot_id.startswith("2026-05-01_"))
    assert "since the snapshot as of 2026-04-01" in _volume_reason(may)
    assert snapshots.latest(home).snapshot_id == june.snapshot_id

    assert materialize_pipeline(root, home, as_of="2026-06-01").success
    again = snapshots.latest(home)
    assert again.snapshot_id != june.snapshot_id and again.snapshot_id.startswith("2026-06-01_")
    assert again.manifest["latest"] == {
        "moved": True,
        "replaced": june.snapshot_id,
        "reason": "LATEST's cut was 2026-06-01",
    }
    assert "since the snapshot as of 2026-06-01" in _volume_reason(again)


def test_the_anchor_and_seed_tags_reach_every_board_and_the_manifest(landing, tmp_path):
    result = materialize_pipeline(landing, tmp_path / "home", anchor="m-b", anchor_rating=1114.0, seed=7)
    assert result.success, cli.failure_reason(result)
    manifest = snapshots.latest(tmp_path / "home").manifest
    assert manifest["parameters"]["anchor"] == {"model_id": "m-b", "rating": 1114.0, "source": "--anchor"}
    assert manifest["parameters"]["bootstrap"]["seed"] == 7
    assert {s["seed"] for s in manifest["segments"].values()} == {7}
    assert manifest["style"]["anchor"]["model_id"] == "m-b"
    assert manifest["run"] | {"defaults": None} == {
        "dagster_run_id": result.run_id,
        "as_of": "2026-06-01",
        "anchor_model": "m-b",
        "anchor_rating": 1114.0,
        "seed": 7,
        "defaults": None,
        "tables_from_runs": manifest["run"]["tables_from_runs"],
    }
    assert set(manifest["run"]["tables_from_runs"].values()) == {result.run_id}
    board = snapshots.latest(tmp_path / "home").leaderboard()
    raw = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")].set_index("model_id")
    assert raw.loc["m-b", "rating"] == pytest.approx(1114.0)


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({run_cut.TAG_AS_OF: "2026-13-01"}, "as_of must be YYYY-MM-DD"),
        ({run_cut.TAG_ANCHOR_RATING: "nan"}, "anchor rating must be finite"),
        ({run_cut.TAG_ANCHOR_RATING: "1e999"}, "anchor rating must be finite"),
        ({run_cut.TAG_SEED: "-1"}, "seed must be between 0 and"),
        ({run_cut.TAG_ANCHOR: " \u200b"}, "anchor model must be a printable"),
        ({run_cut.TAG_OVERRIDES: "anchor_at_pinned_value,everything"}, "unknown breaker 'everything'"),
    ],
)
def test_a_run_with_a_bad_cut_tag_fails_before_any_step_with_one_line(tags, message, landing, tmp_path):
    result = dg.materialize(
        [*REBUILD_ASSETS, *ASSET_CHECKS],
        resources=build_resources(landing, tmp_path / "home"),
        tags={**cut_tags("2026-06-01"), **tags},
        raise_on_error=False,
    )
    assert not result.success
    reason = cli.failure_reason(result)
    assert message in reason and "\n" not in reason
    assert not result.get_asset_materialization_events()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", "-3"], "seed must be between 0 and"),
        (["--override-breaker", "no_such_breaker"], "unknown breaker 'no_such_breaker'"),
        (["--anchor", "m-a=inf"], "anchor rating must be finite"),
    ],
)
def test_cli_refuses_a_bad_cut_in_one_line(argv, message, tmp_path, capsys):
    (tmp_path / "landing").mkdir()
    code = cli.main(["run", "--landing", str(tmp_path / "landing"), "--home", str(tmp_path / "home"), *argv])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "home").exists()


def test_the_schedule_at_0200_utc_tags_the_run_with_that_days_cut(landing, tmp_path):
    paths = ShowdownPaths(landing_dir=str(landing), home_dir=str(tmp_path / "home"))
    tick = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    with dg.build_schedule_context(scheduled_execution_time=tick, resources={"paths": paths}) as context:
        request = automation.nightly_full_rebuild(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags[run_cut.TAG_AS_OF] == "2026-06-01" and request.run_key == "nightly-2026-06-01"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-05-30"
    assert not (request.run_config or {}).get("ops")  # no step gets its own as_of any more
    cut = run_cut.cut_from_tags(request.tags, datetime(2026, 6, 2, 0, 30, tzinfo=UTC))  # run starts late
    assert cut.as_of.isoformat() == "2026-06-01" and cut.seed == run_cut.DEFAULT_SEED


def test_the_landing_sensor_tags_its_run_with_one_cut(landing, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "utc_now", lambda: datetime(2026, 6, 3, 23, 59, 59, tzinfo=UTC))
    paths = ShowdownPaths(landing_dir=str(landing), home_dir=str(tmp_path / "home"))
    with dg.build_sensor_context(resources={"paths": paths}) as context:
        request = automation.landing_files_sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags[run_cut.TAG_AS_OF] == "2026-06-03"


def test_a_file_stamped_in_the_future_is_ingested_when_the_step_starts_after_midnight(tmp_path, monkeypatch):
    """The ingest step places files in landing days with the day its run was created, not its own clock:
    a file stamped in the future belongs to the last day of the run's range even when the step itself
    starts after midnight (it used to fall in "tomorrow", outside the range, and was skipped unrecorded)."""
    from showdown_pipeline.defs import partitions
    from showdown_pipeline.defs.ingest.assets import landing_zone_ingest
    from showdown_pipeline_tests.landing_builder import random_valid_votes, write_jsonl

    root = tmp_path / "landing"
    path = write_jsonl(root / "votes" / "future.jsonl", random_valid_votes(0, 12, ["m-a", "m-b"], seed=3))
    future = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    os.utime(path, (future, future))
    tags = partitions.landing_range_tags(root)  # computed at launch: the future file is in today's partition

    class _Tomorrow(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(days=1)

    monkeypatch.setattr(partitions, "datetime", _Tomorrow)  # the step's own clock has passed midnight
    result = dg.materialize(
        [landing_zone_ingest],
        resources=build_resources(root, tmp_path / "home"),
        instance=dg.DagsterInstance.ephemeral(),
        tags=tags,
    )
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("raw_votes")]
    assert events[-1].materialization.metadata["rows_added"].value == 12
