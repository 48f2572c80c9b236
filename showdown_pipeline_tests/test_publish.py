"""Snapshots: layout, manifest accounting, hashes, immutability, the data cut, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from showdown_pipeline import cli, snapshots
from showdown_pipeline.core import snapshots as core_snapshots
from showdown_pipeline.core.records import BOARD_TABLES
from showdown_pipeline.core.snapshots import LEADERBOARD_SCHEMA
from showdown_pipeline_tests.conftest import copy_home, materialize_pipeline
from showdown_pipeline_tests.landing_builder import (
    build_messy_landing,
    random_valid_votes,
    vote,
    write_jsonl,
    write_models,
)


@pytest.fixture(scope="module")
def published(published_template, tmp_path_factory):
    """The session's end-to-end run of the messy landing zone, cut 2026-06-01 (this module's own copy)."""
    home = copy_home(published_template.home, tmp_path_factory.mktemp("publish") / "home")
    return published_template.landing, home


def publish_alone(landing, home):
    """The publish stage by itself on a home whose boards exist: the snapshot, with every breaker evaluated
    again in this run (publish reads each breaker's evaluation for the tables it carries)."""
    return materialize_pipeline(
        landing,
        home,
        as_of="2026-06-01",
        stages=("publish",),
        checks_on=("votes_counted", *BOARD_TABLES.values()),
    )


def test_snapshot_layout_and_columns(published):
    _, home = published
    snap = snapshots.latest(home)
    assert sorted(p.name for p in snap.path.iterdir()) == [
        "index.html",
        "leaderboard.json",
        "leaderboard.parquet",
        "manifest.json",
        "providers.parquet",
        "sampling_plan.parquet",
    ]
    board = snap.leaderboard()
    assert list(board.columns) == LEADERBOARD_SCHEMA.names
    assert set(board["board"]) == {"raw", "style"}
    assert set(board["segment_dim"]) == {
        "overall",
        "country",
        "age_band",
        "education",
        "language",
        "profession",
    }
    overall = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")]
    assert set(overall["segment_value"]) == {"all"} and len(overall) == 3
    assert list(board["model_id"][:1]) == ["m-a"]  # the raw overall board comes first, best model first
    countries = board[board["segment_dim"] == "country"]
    assert set(countries["segment_value"]) == {"BR", "DE"}  # FR, one voter, is withheld (< k voters)
    as_json = json.loads((snap.path / "leaderboard.json").read_text())
    from_json = pd.DataFrame(as_json["rows"])[LEADERBOARD_SCHEMA.names]
    # JSON carries no type: a float column that is null on every row reads back as None objects
    from_json = from_json.astype({c: float for c in board if board[c].dtype == float})
    pd.testing.assert_frame_equal(from_json, board, check_dtype=False)
    assert (home / "snapshots" / "LATEST").read_text().strip() == snap.snapshot_id
    assert not snap.verify()
    # the report says what the voter-clustered interval adds, in the manifest's numbers
    clustering = snap.manifest["parameters"]["voter_clustering"]
    report = (snap.path / "index.html").read_text()
    assert f"by {clustering['design_effect_median']:.2f} for the median model" in report
    assert f"over {clustering['voters']:,} voters" in report


def test_manifest_input_accounting(published):
    landing, home = published
    manifest = snapshots.latest(home).manifest
    inputs = manifest["input"]
    assert inputs["rows_in"] == landing.rows_in
    assert inputs["valid"] == landing.valid_votes
    assert inputs["duplicates"] == 3
    assert inputs["quarantined"]["total"] == len(landing.expected_reasons) + 2
    assert inputs["quarantined"]["by_reason"]["unparseable_line"] == 2
    assert inputs["rows_in"] == inputs["valid"] + inputs["duplicates"] + inputs["quarantined"]["total"]
    by_path = {f["path"]: f for f in inputs["files"]}
    for path in landing.rejected_files:
        assert (
            by_path[path]["status"] == "rejected" and by_path[path]["error"] and by_path[path]["rows_in"] == 0
        )
    assert by_path["votes/2026-03-01/votes.jsonl"]["status"] == "ingested"
    for f in inputs["files"]:
        assert f["rows_in"] == f["valid"] + f["duplicates"] + f["quarantined"]
    assert manifest["parameters"]["anchor"] == {
        "model_id": "m-a",
        "rating": 1000.0,
        "source": "the registry's first model",
    }
    assert manifest["data_cut"] == {
        "as_of": "2026-06-01",
        "cutoff_utc": "2026-06-01T00:00:00Z",
        "rule": manifest["data_cut"]["rule"],
        "counted_before_cut": 400,
        "waiting_after_cut": 0,
        "undated_counted": 0,
    }
    assert manifest["code_version"]["source_sha256"]
    # no raw contributor ids or network hashes in what leaves the warehouse
    text = "".join(
        (snapshots.latest(home).path / name).read_text()
        for name in ("manifest.json", "leaderboard.json", "index.html")
    )
    assert "u-1" not in text and "ip1" not in text


def test_second_run_makes_a_new_snapshot_and_leaves_the_first_unchanged(published):
    landing, home = published
    first = snapshots.latest(home)
    before = {p.name: p.read_bytes() for p in first.path.iterdir()}
    assert materialize_pipeline(landing.root, home, as_of="2026-06-01").success
    second = snapshots.latest(home)
    assert second.snapshot_id != first.snapshot_id
    assert {p.name: p.read_bytes() for p in first.path.iterdir()} == before
    assert [s.snapshot_id for s in snapshots.list_all(home)][-2:] == [first.snapshot_id, second.snapshot_id]
    statuses = {f["status"] for f in second.manifest["input"]["files"]}
    assert statuses == {"unchanged", "rejected"}
    pd.testing.assert_frame_equal(first.leaderboard(), second.leaderboard())


def test_tampered_file_fails_verification(published, tmp_path):
    import shutil

    _, home = published
    snap = snapshots.latest(home)
    copy = tmp_path / "snapshots" / snap.snapshot_id
    shutil.copytree(snap.path, copy)
    (copy / "leaderboard.json").write_text("{}")
    problems = snapshots.Snapshot(copy).verify()
    assert problems == [f"{snap.snapshot_id}: leaderboard.json does not match its sha256"]


def test_data_cut_is_midnight_utc_and_offsets_are_normalised(tmp_path):
    """A vote at exactly D 00:00:00 UTC waits; one second before counts, whatever offset it was written in."""
    landing = tmp_path / "landing"
    write_models(landing / "models.csv", [("m-a", "A", "p", None, None), ("m-b", "B", "p", None, None)])
    votes = random_valid_votes(0, 40, ["m-a", "m-b"], seed=4)
    cut = datetime(2026, 4, 1, tzinfo=UTC)
    just_before = (cut - timedelta(seconds=1)).astimezone(datetime.now().astimezone().tzinfo)
    votes += [
        vote(100, voted_at="2026-04-01T00:00:00Z", exported_at="2026-04-02T00:00:00Z"),
        vote(101, voted_at="2026-04-01T02:00:00+02:00", exported_at="2026-04-02T00:00:00Z"),  # = the cut
        vote(102, voted_at="2026-03-31T19:59:59-04:00", exported_at="2026-04-02T00:00:00Z"),  # 1 s before
        vote(103, voted_at=just_before.isoformat(), exported_at="2026-04-02T00:00:00Z"),
    ]
    write_jsonl(landing / "votes" / "v.jsonl", votes)
    result = materialize_pipeline(landing, tmp_path / "home", as_of="2026-04-01")
    assert result.success
    cut_meta = snapshots.latest(tmp_path / "home").manifest["data_cut"]
    assert cut_meta["counted_before_cut"] == 42 and cut_meta["waiting_after_cut"] == 2


@pytest.mark.slow
def test_cli_run_prints_the_board_and_exits_zero(tmp_path):
    landing = tmp_path / "landing"
    build_messy_landing(landing)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "showdown_pipeline.cli",
            "run",
            "--landing",
            str(landing),
            "--home",
            str(tmp_path / "home"),
            "--as-of",
            "2026-06-01",
            "--anchor",
            "m-b=1200",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "snapshot: " in out.stdout and "m-a" in out.stdout
    snap = snapshots.latest(tmp_path / "home")
    board = snap.leaderboard()
    overall = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")].set_index("model_id")
    assert overall.loc["m-b", "rating"] == pytest.approx(1200.0)
    assert snap.manifest["parameters"]["anchor"]["source"] == "--anchor"
    assert (tmp_path / "home" / "dagster").is_dir()  # runs recorded in the persistent instance


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--landing", "/nonexistent/landing"], "does not exist"),
        (["run", "--as-of", "2026-13-01"], "--as-of must be YYYY-MM-DD"),
        (["run", "--anchor", "no-rating"], "--anchor must be MODEL_ID=RATING"),
    ],
)
def test_cli_refuses_with_one_line(argv, message, tmp_path, capsys):
    argv = [*argv, "--home", str(tmp_path / "home")]
    if "--landing" not in argv:
        (tmp_path / "landing").mkdir()
        argv += ["--landing", str(tmp_path / "landing")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_cli_refuses_a_bad_memory_limit_before_running(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SHOWDOWN_DUCKDB_MEMORY_LIMIT", "lots")
    (tmp_path / "landing").mkdir()
    assert cli.main(["run", "--landing", str(tmp_path / "landing"), "--home", str(tmp_path / "home")]) == 2
    err = capsys.readouterr().err.strip()
    assert "SHOWDOWN_DUCKDB_MEMORY_LIMIT='lots' is not a memory size" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()


@pytest.mark.slow
def test_cli_unknown_anchor_fails_with_one_line_reason(tmp_path, capsys):
    landing = tmp_path / "landing"
    build_messy_landing(landing)
    code = cli.main(
        [
            "run",
            "--landing",
            str(landing),
            "--home",
            str(tmp_path / "home"),
            "--as-of",
            "2026-06-01",
            "--anchor",
            "zzz=1000",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "anchor model 'zzz' has no counted votes" in err[0]


def test_a_crash_while_writing_leaves_no_half_snapshot_and_latest_usable(published, monkeypatch):
    from showdown_pipeline.core import snapshots as core_snapshots

    landing, home = published
    before = snapshots.latest(home)
    listed = [s.snapshot_id for s in snapshots.list_all(home)]

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(core_snapshots.os, "rename", crash)  # the moment the folder would appear
    result = publish_alone(landing.root, home)
    assert not result.success
    assert "disk full (simulated)" in cli.failure_reason(result)
    assert [s.snapshot_id for s in snapshots.list_all(home)] == listed
    assert snapshots.latest(home).snapshot_id == before.snapshot_id and not snapshots.latest(home).verify()
    assert not [p for p in (home / "snapshots").iterdir() if p.name.startswith(".tmp-")]


def test_a_killed_writer_leaves_only_a_hidden_folder_readers_ignore(published):
    _, home = published
    before = [s.snapshot_id for s in snapshots.list_all(home)]
    (home / "snapshots" / ".tmp-2026-06-01_killed-abcd").mkdir()
    (home / "snapshots" / ".tmp-2026-06-01_killed-abcd" / "leaderboard.parquet").write_bytes(b"PAR1 half")
    assert [s.snapshot_id for s in snapshots.list_all(home)] == before
    assert not snapshots.latest(home).verify()


def test_the_publish_stage_alone_publishes_the_boards_it_finds(published, tmp_path):
    """Publish materialized by itself (no stage before it re-runs) on a copy of a published home: a new,
    verified snapshot holding the same boards, its manifest naming the run that made each table."""
    landing, template = published
    home = copy_home(template, tmp_path / "home")
    first = snapshots.latest(home)
    result = publish_alone(landing.root, home)
    assert result.success, cli.failure_reason(result)
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"leaderboard_snapshot"}
    second = snapshots.latest(home)
    assert second.snapshot_id != first.snapshot_id and not second.verify()
    pd.testing.assert_frame_equal(first.leaderboard(), second.leaderboard())
    made_by = second.manifest["run"]["tables_from_runs"]
    assert set(made_by.values()) == {first.manifest["dagster_run_id"]} != {result.run_id}
    assert {r["asset"] for r in second.manifest["breakers"]["evaluated"]} == {
        "votes_counted",
        *BOARD_TABLES.values(),
    }


def _hand_made_snapshot(folder, manifest_edit=None) -> snapshots.Snapshot:
    """A schema-5 snapshot folder written here (its hashes by hashlib), then `manifest_edit` applied to its
    manifest: what a tamperer or a careless copy can leave behind."""
    import hashlib

    folder.mkdir(parents=True)
    files = {}
    for name in core_snapshots.DATA_FILES:
        body = f"the bytes of {name}".encode()
        (folder / name).write_bytes(body)
        files[name] = {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
    manifest = {"schema_version": 5, "files": files}
    if manifest_edit is not None:
        manifest_edit(folder, manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return snapshots.Snapshot(folder)


def _drop_providers(folder, manifest) -> None:
    (folder / "providers.parquet").unlink()
    del manifest["files"]["providers.parquet"]


def test_the_verifier_refuses_a_manifest_that_hides_a_required_file_or_points_outside_the_snapshot(tmp_path):
    """Each of these used to verify clean or raise: providers.parquet deleted and struck from a manifest whose
    schema_version is "5" (a string), true, or 0 (nothing was required, or max() of nothing raised); a listed
    file outside the folder (`../`), a listed file that is a symbolic link to bytes elsewhere, an entry without
    a sha256 (KeyError), and a file in the folder the manifest does not list. A clean folder verifies."""
    outside = tmp_path / "outside.parquet"
    outside.write_bytes(b"the bytes of providers.parquet")

    def version(value):
        return lambda folder, m: (_drop_providers(folder, m), m.update(schema_version=value))

    def escape(folder, m):
        m["files"]["../outside.parquet"] = dict(m["files"]["providers.parquet"])

    def link(folder, m):
        (folder / "providers.parquet").unlink()
        (folder / "providers.parquet").symlink_to(outside)

    def no_hash(folder, m):
        m["files"]["providers.parquet"] = {"bytes": 30}

    def extra(folder, m):
        (folder / "providers-v2.parquet").write_bytes(b"unlisted")

    cases = {
        "string": (version("5"), "schema_version '5' is not a snapshot schema version"),
        "bool": (version(True), "schema_version True is not a snapshot schema version"),
        "zero": (version(0), "schema_version 0 is not a snapshot schema version"),
        "escape": (escape, "'../outside.parquet' is not a file name inside the snapshot"),
        "link": (link, "providers.parquet is a symbolic link, not a file of the snapshot"),
        "no_hash": (no_hash, "providers.parquet has no sha256 in the manifest"),
        "extra": (extra, "providers-v2.parquet is in the folder but not listed in the manifest"),
    }
    assert _hand_made_snapshot(tmp_path / "clean").verify() == []
    for case, (edit, problem) in cases.items():
        snap = _hand_made_snapshot(tmp_path / case, edit)
        assert snap.verify() == [f"{case}: {problem}"], case
