"""Tiers, simultaneous rank intervals and the sampling plan through the real pipeline: the snapshot's
leaderboard columns, sampling_plan.parquet (active models only, hashed in the manifest, required by the
verifier), the report and `showdown show`."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest

from showdown_pipeline import cli, snapshots
from showdown_pipeline.core.boards import LEADERBOARD_SCHEMA
from showdown_pipeline.core.digest import sha256_of
from showdown_pipeline.core.rank_uncertainty import RANK_COLUMNS
from showdown_pipeline.core.sampling_plan import PLAN_SCHEMA, PlanSettings
from showdown_pipeline.core.snapshots import SCHEMA_VERSION
from showdown_pipeline_tests.conftest import materialization_metadata, materialize_pipeline
from showdown_pipeline_tests.landing_builder import random_valid_votes, write_jsonl, write_models

RATED = ["m-a", "m-b", "m-c", "m-d"]
ACTIVE = [*RATED, "m-new"]  # m-new: released before the cut, no votes yet


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("ranks")
    landing = root / "landing"
    write_models(
        landing / "models.csv",
        [
            *((m, m, "p", "2026-01-01T00:00:00Z", None) for m in RATED),
            ("m-old", "m-old", "p", "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z"),  # votes, deprecated
            ("m-new", "m-new", "p", "2026-05-01T00:00:00Z", None),
            ("m-future", "m-future", "p", "2026-07-01T00:00:00Z", None),  # released after the cut
        ],
    )
    votes = random_valid_votes(0, 900, [*RATED, "m-old"], seed=3, users=300)
    write_jsonl(landing / "votes" / "2026-03-01" / "votes.jsonl", votes)
    result = materialize_pipeline(landing, root / "home", as_of="2026-06-01", segment_bootstrap=20)
    assert result.success
    return result, root / "home"


def test_snapshot_carries_rank_columns_and_a_sampling_plan_of_the_active_models(published):
    """Before: no rank columns, no sampling_plan.parquet. Every board carries rank_lower/rank_upper/p_top1/
    p_top5/tier, p_top1 summing to 1 per board (segment value and component): the raw boards from their
    bootstrap (overall B = 100, segments B = 20), the style boards, overall and per segment (no bootstrap),
    from normal draws with their fit's sandwich covariance, as rank_method says; the plan covers every pair of active models (the new one in,
    the deprecated one and the not-yet-released one out) and its weights sum to 1."""
    result, home = published
    snap = snapshots.latest(home)
    assert "sampling_plan.parquet" in {p.name for p in snap.path.iterdir()}
    board = snap.leaderboard()
    assert list(board.columns) == LEADERBOARD_SCHEMA.names and set(RANK_COLUMNS) <= set(board.columns)
    assert board[[*RANK_COLUMNS, "rank_method"]].notna().all().all()
    kinds = set()
    for (kind, dim, _, _), rows in board.groupby(["board", "segment_dim", "segment_value", "component"]):
        kinds.add((kind, dim == "overall"))
        assert rows["p_top1"].sum() == pytest.approx(1.0, abs=1e-9)
        assert rows["p_top5"].sum() == pytest.approx(min(5, len(rows)), abs=1e-9)
        assert (rows["rank_lower"] >= 1).all() and (rows["rank_upper"] <= len(rows)).all()
        assert (rows["rank_lower"] <= rows["rank_upper"]).all() and rows["tier"].min() == 1
    assert kinds == {("raw", True), ("raw", False), ("style", True), ("style", False)}
    raw, style = board[board["board"] == "raw"], board[board["board"] == "style"]
    overall = raw[raw["segment_dim"] == "overall"]
    assert set(overall["model_id"]) == {*RATED, "m-old"} and overall["tier"].min() == 1
    assert overall["rank_method"].str.contains("over 100 bootstrap replicates").all()
    segment_methods = raw.loc[raw["segment_dim"] != "overall", "rank_method"]
    assert segment_methods.str.contains("over 20 bootstrap replicates, studentised leave-one-out").all()
    assert style["rank_method"].str.contains("normal draws from the fit's sandwich covariance").all()

    plan = snap.sampling_plan()
    assert pq.read_schema(snap.path / "sampling_plan.parquet").equals(PLAN_SCHEMA, check_metadata=False)
    assert set(zip(plan["model_left"], plan["model_right"], strict=True)) == {
        (a, b) for i, a in enumerate(ACTIVE) for b in ACTIVE[i + 1 :]
    }
    assert plan["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (plan["weight"] >= PlanSettings().floor_share / len(plan) * (1 - 1e-12)).all()
    new = plan[plan["model_right"] == "m-new"]
    assert len(new) == 4 and new["reason"].str.startswith("floor: m-new has no rating yet").all()
    manifest = snap.manifest
    assert manifest["schema_version"] == SCHEMA_VERSION == 6
    assert manifest["sampling_plan"]["active_models"] == 5 and manifest["sampling_plan"]["pairs"] == 10
    entry = manifest["files"]["sampling_plan.parquet"]
    assert entry["sha256"] == sha256_of(snap.path / "sampling_plan.parquet")
    assert not snap.verify()
    assert materialization_metadata(result, "overall_ratings")["sampling_plan_pairs"] == 10


def test_verifier_requires_the_sampling_plan_listed_present_and_unchanged(published, tmp_path):
    """A schema-4 snapshot whose plan was changed, deleted, or deleted and struck from the manifest's
    file list fails verification, each with its reason."""
    _, home = published
    original = snapshots.latest(home)
    cases = {}
    for case in ("changed", "deleted", "unlisted"):
        copy = tmp_path / case / original.snapshot_id
        shutil.copytree(original.path, copy)
        plan = copy / "sampling_plan.parquet"
        if case == "changed":
            table = pq.read_table(plan)
            pq.write_table(table.slice(1), plan)
        else:
            plan.unlink()
        if case == "unlisted":
            manifest = json.loads((copy / "manifest.json").read_text())
            del manifest["files"]["sampling_plan.parquet"]
            (copy / "manifest.json").write_text(json.dumps(manifest))
        cases[case] = snapshots.Snapshot(copy).verify()
    name = original.snapshot_id
    assert cases["changed"] == [f"{name}: sampling_plan.parquet does not match its sha256"]
    assert cases["deleted"] == [f"{name}: sampling_plan.parquet missing"]
    assert cases["unlisted"] == [f"{name}: sampling_plan.parquet is not listed in the manifest"]


def test_report_and_show_give_tiers_rank_ranges_and_the_plan(published, capsys):
    _, home = published
    snap = snapshots.latest(home)
    html = (snap.path / "index.html").read_text(encoding="utf-8")
    table = html.split('id="overall-table"', 1)[1].split("</table>", 1)[0]
    assert "<th>Tier</th>" in table and "Rank range</th>" in table and "<th>P(#1)</th>" in table
    assert 'id="tier-note"' in html and "simultaneous" in html.split('id="tier-note"', 1)[1][:400]
    plan = html.split('id="sampling-plan"', 1)[1].split("</table>", 1)[0]
    assert "m-a vs m-new" in plan or "m-new" in plan

    assert cli.main(["show", "--home", str(home)]) == 0
    printed = capsys.readouterr().out
    header = next(line for line in printed.splitlines() if line.startswith("rank"))
    assert header.split()[:3] == ["rank", "tier", "range"] and "P(#1)" in header
    board = snap.leaderboard()
    top = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")].iloc[0]
    line = next(line for line in printed.splitlines() if f" {top['model_id']} " in line)
    low, high = int(top["rank_lower"]), int(top["rank_upper"])
    assert (str(low) if low == high else f"{low}-{high}") in line.split()
    assert "simultaneous 95% rank interval" in printed


@pytest.mark.parametrize("kind, segment", [("style", None), ("raw", "segment"), ("style", "segment")])
def test_show_gives_tiers_and_rank_ranges_for_the_board_it_prints(published, capsys, kind, segment):
    """`showdown show --board style` and `--segment DIM=VALUE` (raw and style): the printed board has the
    tier and range columns, each model's line its own snapshot row's tier and simultaneous rank range, and
    a line naming where the ranks come from (rank_method)."""
    _, home = published
    board = snapshots.latest(home).leaderboard()
    rows = board[board["board"] == kind]
    args = ["show", "--home", str(home), "--board", kind]
    if segment:
        first = rows[rows["segment_dim"] != "overall"].iloc[0]
        rows = rows[
            (rows["segment_dim"] == first["segment_dim"]) & (rows["segment_value"] == first["segment_value"])
        ]
        args += ["--segment", f"{first['segment_dim']}={first['segment_value']}"]
    else:
        rows = rows[rows["segment_dim"] == "overall"]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    header = next(line for line in printed.splitlines() if line.startswith("rank"))
    assert header.split()[:3] == ["rank", "tier", "range"] and "P(#1)" in header
    for r in rows.itertuples(index=False):
        line = next(line for line in printed.splitlines() if f" {r.model_id} " in line)
        low, high = int(r.rank_lower), int(r.rank_upper)
        assert line.split()[1:3] == [str(int(r.tier)), str(low) if low == high else f"{low}-{high}"]
    assert f"ranks from: {rows['rank_method'].iloc[0]}" in printed
