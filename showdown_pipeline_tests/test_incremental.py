"""A night that adds one landing day gives what a full rebuild over the same files gives.

Home N: days 1..9 of a corrupted demo world (plus a file of cross-file duplicates in day 5) are ingested
and run; then day 10 lands — its votes, the late broken files, a contributors file changing a voter's
profile, and a file of re-deliveries aimed at old records — and the next run validates only the new files
and decides the dedupe again only for the keys they touch. Home F: one run over all ten days from scratch.

The day-10 re-deliveries are the cases where a new record changes an OLD record's outcome:
- a later re-export of an old counted vote (the old one becomes superseded);
- an exact copy of an old counted vote (the old one stays, the copy is the duplicate);
- a re-export with an EARLIER exported_at (the new one loses);
- a new vote of an old (user, battle) cast earlier (the old counted vote becomes duplicate_user_battle),
  and one cast later (the new one is the duplicate);
- a re-export moving an old vote to another battle, so the old vote's duplicate_user_battle counts again;
- a third export of a vote already superseded in day 5 (the old duplicate now points at the new record).

Every one is checked by hand below, and then both homes must agree on everything published: the leaderboard
rows bit for bit, the manifest's accounting and integrity, the warehouse's checked, quarantined, duplicate,
counted and flagged rows, and a licensed export.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from showdown_pipeline import settings, snapshots
from showdown_pipeline.core import demo_world, holdout
from showdown_pipeline.definitions import LICENSING_ASSETS
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.conftest import TEST_SECRET, materialization_metadata, materialize_pipeline

pytestmark = pytest.mark.slow

AS_OF = "2026-06-02"
EXPORT_AS_OF = "2026-09-01"  # after the 60-day holdout of every vote of the world
WORLD = demo_world.WorldConfig(
    votes=30_000, days=10, end=date(2026, 6, 1), seed=11, n_models=12, corrupt_rate=0.02
)
DAYS = [(WORLD.end - timedelta(days=WORLD.days - k)).isoformat() for k in range(WORLD.days)]
TABLES = {  # table -> columns compared (sorted by every column)
    "votes_checked": ("row_key", "vote_id", "reason", "reason_detail", "content_hash"),
    "vote_quarantine": ("row_key", "reason", "reasons", "record"),
    "vote_duplicates": ("row_key", "vote_id", "reason", "kept_row_key"),
    "votes_clean": None,
    "votes_counted": None,
    "user_flags": ("user_id", "check_name", "excluded"),
    "vote_exclusions": None,
}


def _iso(ts: str, seconds: float) -> str:
    moved = datetime.fromisoformat(ts.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    return moved.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _records(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _counted(home: Path) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path(home)), read_only=True) as conn:
        return conn.sql("SELECT vote_id, user_id, battle_id FROM votes_clean").df()


def _table(home: Path, table: str, columns) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path(home)), read_only=True) as conn:
        frame = conn.sql(f"SELECT * FROM {table}").df()  # noqa: S608 - fixed names
    frame = frame[list(columns)] if columns else frame
    frame = frame.map(
        lambda v: json.dumps(list(v)) if hasattr(v, "__len__") and not isinstance(v, str) else v
    )
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _outcome(home: Path, vote_ids: list[str]) -> dict[str, list[tuple]]:
    """vote_id -> [(source file, counted | dedupe reason, kept record's file)] over every record of it."""
    with duckdb.connect(str(settings.warehouse_path(home)), read_only=True) as conn:
        rows = conn.execute(
            """
            SELECT c.vote_id, c.source_path, coalesce(d.reason, 'counted') AS outcome, k.source_path AS kept_path
            FROM votes_checked AS c
            LEFT JOIN vote_duplicates AS d USING (row_key)
            LEFT JOIN votes_checked AS k ON k.row_key = d.kept_row_key
            WHERE c.vote_id IN (SELECT unnest($ids)) AND c.reason IS NULL
            ORDER BY c.vote_id, c.source_path, c.source_row
            """,
            {"ids": vote_ids},
        ).fetchall()
    out: dict[str, list[tuple]] = {}
    for vote_id, path, outcome, kept in rows:
        out.setdefault(vote_id, []).append((Path(path).name, outcome, kept and Path(kept).name))
    return out


def _plant_day5(world: Path, landing: Path) -> dict:
    """Cross-file duplicates among the old days: a second vote of one (user, battle) cast a minute after a
    counted one (a duplicate_user_battle), and a re-export a day later (superseding its day-1 record)."""
    day1 = _records(world / "votes" / DAYS[0] / f"votes-{DAYS[0]}.jsonl.gz")
    once = pd.Series([r["vote_id"] for r in day1]).value_counts()
    clean = [
        r
        for r in day1
        if once.get(r["vote_id"]) == 1 and r["winner"] in ("left", "right") and r["error_left"] is False
    ][100:110]
    a5, a6 = clean[0], clean[1]
    b5 = {**a5, "vote_id": a5["vote_id"] + "-b5", "voted_at": _iso(a5["voted_at"], 60), "winner": "right"}
    a6_later = {**a6, "exported_at": _iso(a6["exported_at"], 86_400), "winner": "both_bad"}
    _write(landing / "votes" / DAYS[4] / "zz-extra.jsonl", [b5, a6_later])
    return {"a5": a5, "b5": b5, "a6": a6, "rest": clean[2:]}


def _plant_day10(landing: Path, planted: dict, counted: pd.DataFrame, home: Path) -> dict:
    a5, a6 = planted["a5"], planted["a6"]
    a1, a2, a3, a4, a7 = planted["rest"][:5]
    assert {r["vote_id"] for r in (a1, a2, a3, a4, a7)} <= set(counted["vote_id"])
    rows = [
        {**a1, "exported_at": _iso(a1["exported_at"], 2 * 86_400), "winner": "both_good"},  # supersedes a1
        dict(a2),  # exact copy
        {**a3, "exported_at": _iso(a3["exported_at"], -1), "winner": "both_good"},  # loses to a3
        {**a4, "vote_id": a4["vote_id"] + "-early", "voted_at": _iso(a4["voted_at"], -30)},  # a4 a duplicate
        {**a7, "vote_id": a7["vote_id"] + "-late", "voted_at": _iso(a7["voted_at"], 30)},  # the new one is
        {**a5, "exported_at": _iso(a5["exported_at"], 86_400), "battle_id": a5["battle_id"] + "-moved"},
        {**a6, "exported_at": _iso(a6["exported_at"], 2 * 86_400)},  # supersedes day 5's re-export
    ]
    _write(landing / "votes" / DAYS[9] / "zz-redeliveries.jsonl", rows)
    with duckdb.connect(str(settings.warehouse_path(home)), read_only=True) as conn:
        voter, country = conn.execute(
            "SELECT user_id, country FROM votes_clean WHERE country IS NOT NULL ORDER BY row_key LIMIT 1"
        ).fetchone()
    profile = {
        "user_id": voter,
        "country": "IS" if country != "IS" else "NO",
        "age_band": "65+",
        "education": "doctorate",
        "profession": "lighthouse keeper",
        "languages": ["is"],
        "verified": True,
        "verified_at": "2026-05-31T00:00:00Z",
        "account_created_at": "2024-01-01T00:00:00Z",
    }
    _write(landing / "contributors" / "zz-day10.jsonl", [profile])
    return {
        "ids": {k: r["vote_id"] for k, r in zip(("a1", "a2", "a3", "a4", "a7"), rows, strict=False)},
        "voter": profile,
    }


def _copy_days(world: Path, landing: Path, days: list[str], late: bool) -> None:
    for day in days:
        shutil.copytree(world / "votes" / day, landing / "votes" / day, dirs_exist_ok=True)
    if late:
        shutil.copytree(world / "votes" / "late", landing / "votes" / "late", dirs_exist_ok=True)


def _run(landing: Path, home: Path) -> dg.ExecuteInProcessResult:
    result = materialize_pipeline(landing, home, as_of=AS_OF)
    assert result.success, [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return result


def _export(landing: Path, home: Path, monkeypatch) -> pd.DataFrame:
    monkeypatch.setenv(holdout.SECRET_ENV, TEST_SECRET)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("licensees", ["acme"])
    result = dg.materialize(
        LICENSING_ASSETS,
        partition_key="acme",
        resources=build_resources(landing, home),
        instance=instance,
        run_config={"ops": {"licensed_export_staged": {"config": {"as_of": EXPORT_AS_OF}}}},
        raise_on_error=False,
    )
    assert result.success
    frame = pq.read_table(home / "exports" / "acme" / EXPORT_AS_OF / "votes.parquet").to_pandas()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _published(home: Path) -> tuple[pd.DataFrame, dict]:
    snap = snapshots.latest(home)
    manifest = snap.manifest
    kept = {k: manifest[k] for k in ("data_cut", "parameters", "segments", "style")}
    kept["integrity"] = {k: v for k, v in manifest["integrity"].items() if k != "run"}
    files = [
        {k: v for k, v in f.items() if k not in ("status", "run_id")} for f in manifest["input"]["files"]
    ]
    kept["input"] = {**manifest["input"], "files": sorted(files, key=lambda f: json.dumps(f, sort_keys=True))}
    for section in ("parameters", "style"):
        kept[section] = {k: v for k, v in kept[section].items() if k != "run"}
    kept["segments"] = {d: {k: v for k, v in p.items() if k != "run"} for d, p in kept["segments"].items()}
    return snap.leaderboard(), kept


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    """(night home, full home, night landing, what was planted, the night's validation metadata)."""
    base = tmp_path_factory.mktemp("incremental")
    world = base / "world"
    demo_world.generate(world, WORLD)
    night_landing = base / "night" / "landing"
    night_landing.mkdir(parents=True)
    shutil.copy(world / "models.csv", night_landing / "models.csv")
    shutil.copytree(world / "contributors", night_landing / "contributors")
    _copy_days(world, night_landing, DAYS[:9], late=False)
    planted = _plant_day5(world, night_landing)
    night = base / "night" / "home"
    _run(night_landing, night)
    planted.update(_plant_day10(night_landing, planted, _counted(night), night))
    _copy_days(world, night_landing, DAYS[9:], late=True)
    result = _run(night_landing, night)
    full_landing = base / "full" / "landing"
    shutil.copytree(night_landing, full_landing)
    full = base / "full" / "home"
    _run(full_landing, full)
    return night, full, night_landing, planted, materialization_metadata(result, "votes_checked")


def test_the_night_validates_only_the_new_files(homes):
    night, full, _, _, metadata = homes
    assert metadata["mode"] == "night"
    with duckdb.connect(str(settings.warehouse_path(night)), read_only=True) as conn:
        new = conn.execute(
            "SELECT count(*) FROM raw_votes WHERE source_sha256 IN "
            "(SELECT sha256 FROM landing_files WHERE path LIKE $day OR path LIKE 'votes/late/%')",
            {"day": f"votes/{DAYS[9]}/%"},
        ).fetchone()[0]
        total = conn.execute("SELECT count(*) FROM votes_checked").fetchone()[0]
    assert metadata["records_validated"] == new and 0 < new < total / 5


def test_redeliveries_of_old_records_resolve_as_the_rules_say(homes):
    night, _, _, planted, _ = homes
    ids = planted["ids"]
    a5, b5, a6 = planted["a5"]["vote_id"], planted["b5"]["vote_id"], planted["a6"]["vote_id"]
    day1, day5, day10 = f"votes-{DAYS[0]}.jsonl.gz", "zz-extra.jsonl", "zz-redeliveries.jsonl"
    got = _outcome(
        night, [*ids.values(), a5, b5, a6, ids["a4"].removesuffix("-early"), ids["a7"].removesuffix("-late")]
    )
    assert got[ids["a1"]] == [(day1, "superseded", day10), (day10, "counted", None)]
    assert got[ids["a2"]] == [(day1, "counted", None), (day10, "exact_duplicate", day1)]
    assert got[ids["a3"]] == [(day1, "counted", None), (day10, "superseded", day1)]
    a4 = ids["a4"].removesuffix("-early")
    assert got[a4] == [(day1, "duplicate_user_battle", day10)] and got[ids["a4"]] == [
        (day10, "counted", None)
    ]
    a7 = ids["a7"].removesuffix("-late")
    assert got[a7] == [(day1, "counted", None)]
    assert got[ids["a7"]] == [(day10, "duplicate_user_battle", day1)]
    assert got[a5] == [(day1, "superseded", day10), (day10, "counted", None)]
    assert got[b5] == [(day5, "counted", None)]  # it was a5's duplicate_user_battle before day 10
    assert got[a6] == [(day1, "superseded", day10), (day5, "superseded", day10), (day10, "counted", None)]


def test_a_new_profile_reaches_the_old_votes_of_its_voter(homes):
    night, _, _, planted, _ = homes
    voter = planted["voter"]
    with duckdb.connect(str(settings.warehouse_path(night)), read_only=True) as conn:
        seen = conn.execute(
            "SELECT DISTINCT country, age_band, education, profession FROM votes_clean WHERE user_id = $u",
            {"u": voter["user_id"]},
        ).fetchall()
    assert seen == [(voter["country"], voter["age_band"], voter["education"], voter["profession"])]


def test_the_night_equals_a_full_rebuild_over_the_same_files(homes, monkeypatch):
    night, full, night_landing, _, _ = homes
    board_n, manifest_n = _published(night)
    board_f, manifest_f = _published(full)
    assert len(board_f) > 100
    pd.testing.assert_frame_equal(board_n, board_f, check_exact=True)
    for section in manifest_f:
        assert manifest_n[section] == manifest_f[section], section
    for table, columns in TABLES.items():
        pd.testing.assert_frame_equal(_table(night, table, columns), _table(full, table, columns), obj=table)
    export_n = _export(night_landing, night, monkeypatch)
    export_f = _export(night_landing.parent.parent / "full" / "landing", full, monkeypatch)
    assert len(export_f) > 1000
    pd.testing.assert_frame_equal(export_n, export_f, check_exact=True)
