"""The synthetic world: deterministic, realistic marginals, and exactly the bad input it claims to hold."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from showdown_pipeline import snapshots
from showdown_pipeline.core import demo_world
from showdown_pipeline.definitions import ASSET_CHECKS
from showdown_pipeline_tests.conftest import check_evaluations, materialize_pipeline

SMALL = demo_world.WorldConfig(votes=60_000, days=30, end=date(2026, 6, 1), seed=11)


def _digest_tree(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    summary = demo_world.generate(root / "landing", SMALL, truth=root / "truth")
    return root, summary


def _votes(root) -> pd.DataFrame:
    with duckdb.connect() as conn:
        jsonl = (
            conn.sql(
                "SELECT winner, tokens_left, tokens_right, user_id, language, prompt_hash, model_left, model_right FROM read_json($p, format='newline_delimited')",
                params={"p": str(root / "landing" / "votes" / "*" / "*.jsonl.gz")},
            )
            .to_arrow_table()
            .to_pandas()
        )
        parquet = (
            conn.sql(
                "SELECT winner, tokens_left, tokens_right, user_id, language, prompt_hash, model_left, model_right FROM read_parquet($p)",
                params={"p": str(root / "landing" / "votes" / "*" / "*.parquet")},
            )
            .to_arrow_table()
            .to_pandas()
        )
    return pd.concat([jsonl, parquet], ignore_index=True)


def test_same_seed_same_bytes_other_seed_other_world(world, tmp_path):
    root, _ = world
    demo_world.generate(tmp_path / "again", SMALL)
    assert _digest_tree(tmp_path / "again") == _digest_tree(root / "landing")
    other = demo_world.WorldConfig(votes=2_000, days=3, end=date(2026, 6, 1), seed=12)
    demo_world.generate(tmp_path / "other", other)
    assert _digest_tree(tmp_path / "other") != _digest_tree(root / "landing")


def test_layout_and_formats(world):
    root, summary = world
    files = sorted(p.name for p in (root / "landing" / "votes").rglob("*.*"))
    assert len(files) == SMALL.days
    assert sum(f.endswith(".parquet") for f in files) == SMALL.days // 2
    assert sum(f.endswith(".jsonl.gz") for f in files) == SMALL.days - SMALL.days // 2
    assert summary["votes"] == SMALL.votes
    assert len(_votes(root)) == SMALL.votes


def test_contributor_marginals(world):
    root, _ = world
    people = pd.read_parquet(root / "landing" / "contributors" / "contributors.parquet")
    assert people["country"].nunique() >= 100
    assert len({lang for langs in people["languages"] for lang in langs}) >= 70
    assert set(people["age_band"]) == {"18-24", "25-34", "35-44", "45-54", "55-64", "65+"}
    assert set(people["education"]) == {
        "primary",
        "secondary",
        "vocational",
        "bachelor",
        "master",
        "doctorate",
        "other",
    }
    assert people["profession"].nunique() >= 150
    assert people["verified"].mean() > 0.9


def test_vote_marginals(world):
    root, summary = world
    votes = _votes(root)
    ties = votes["winner"].isin(["both_good", "both_bad"]).mean()
    assert 0.25 < ties < 0.42
    decided = votes[votes["winner"].isin(["left", "right"])]
    longer_left = decided["tokens_left"] > decided["tokens_right"]
    longer_won = np.where(longer_left, decided["winner"] == "left", decided["winner"] == "right")
    assert longer_won.mean() > 0.55  # the length bias points the right way
    per_user = votes["user_id"].value_counts()
    assert per_user.head(max(1, len(per_user) // 100)).sum() / len(votes) > 0.1  # heavy-tailed volume
    prompts = votes["prompt_hash"].value_counts()
    assert prompts.iloc[0] > 500 and (prompts == 1).sum() > len(prompts) / 2  # a few prompts asked very often
    assert votes["language"].nunique() >= 30
    models = pd.read_csv(root / "landing" / "models.csv")
    assert 30 <= len(models) <= 60 and models["provider"].nunique() >= 5
    start, end = summary["window"]["start"], summary["window"]["end_exclusive"]
    assert (
        models["released_at"].between(start, end).any()
        and models["deprecated_at"].dropna().between(start, end).any()
    )


def test_truth_files(world):
    root, summary = world
    users = pd.read_parquet(root / "truth" / "users.parquet")
    assert set(users["kind"]) == {
        "honest",
        "bot",
        "always_left",
        "booster",
        "collusion_ring",
        "prompt_flooder",
    }
    assert (
        users.loc[users["kind"].isin(["booster", "collusion_ring"]), "target_model"]
        .eq(summary["boosted_model"])
        .all()
    )
    strengths = pd.read_parquet(root / "truth" / "strengths.parquet")
    assert set(strengths["segment_dim"]) == {
        "overall",
        "country",
        "age_band",
        "education",
        "language",
        "profession",
    }
    assert len(strengths[strengths["segment_dim"] == "overall"]) == 40
    # the planted finding: one model leads in Europe, another elsewhere
    countries = strengths[strengths["segment_dim"] == "country"]
    leaders = countries.loc[countries.groupby("segment_value")["strength"].idxmax()].set_index(
        "segment_value"
    )["model_id"]
    assert (
        leaders[["DE", "FR", "GB", "PL"]].nunique() == 1 and leaders[["US", "BR", "IN", "JP"]].nunique() == 1
    )
    assert leaders["DE"] != leaders["US"]
    params = json.loads((root / "truth" / "params.json").read_text())
    assert (
        params["style_coefficients_raw"]["tokens"] > 0
        and params["anchor"] == pd.read_csv(root / "landing" / "models.csv")["model_id"][0]
    )


def test_adversaries_are_a_few_percent_of_votes(world):
    root, _ = world
    users = pd.read_parquet(root / "truth" / "users.parquet")
    votes = _votes(root).merge(users, on="user_id")
    share = (votes["kind"] != "honest").mean()
    assert 0.02 < share < 0.07
    always_left = votes.loc[votes["kind"] == "always_left", "winner"]
    assert len(always_left) and (always_left == "left").all()


@pytest.mark.slow
def test_clean_world_passes_validation_and_corrupt_rows_are_quarantined_with_reasons(tmp_path):
    config = demo_world.WorldConfig(votes=20_000, days=10, end=date(2026, 6, 1), seed=5, corrupt_rate=0.01)
    summary = demo_world.generate(tmp_path / "landing", config, truth=tmp_path / "truth")
    result = materialize_pipeline(tmp_path / "landing", tmp_path / "home", as_of="2026-06-01")
    checks = check_evaluations(result)
    assert set(checks) == {k.name for c in ASSET_CHECKS for k in c.check_keys}  # every check ran ...
    assert result.success and all(c.passed for c in checks.values())  # ... and passed
    manifest = snapshots.latest(tmp_path / "home").manifest
    inputs = manifest["input"]
    assert inputs["quarantined"]["by_reason"] == summary["corrupted_rows_by_reason"]
    assert inputs["duplicates_by_reason"] == summary["duplicates_by_reason"]
    assert sorted(f["path"] for f in inputs["files"] if f["status"] == "rejected") == sorted(
        summary["rejected_files"]
    )
    assert inputs["valid"] == config.votes - sum(
        v for k, v in summary["corrupted_rows_by_reason"].items() if k != "unparseable_line"
    )
    assert manifest["contributors"]["invalid"] == 0


@pytest.mark.slow
def test_the_pipeline_recovers_the_true_order_and_style_coefficients(world, tmp_path):
    root, summary = world
    # 60k votes leave a few hundred votes per model and country: thresholds scaled down to match
    result = materialize_pipeline(
        root / "landing",
        tmp_path / "home",
        as_of=SMALL.end.isoformat(),
        bootstrap_rounds=50,
        min_votes=60,
        min_users=20,
    )
    assert result.success
    snap = snapshots.latest(tmp_path / "home")
    board = snap.leaderboard()
    strengths = pd.read_parquet(root / "truth" / "strengths.parquet")
    true = strengths[strengths["segment_dim"] == "overall"].set_index("model_id")["strength"]
    style = board[(board["board"] == "style") & (board["segment_dim"] == "overall")].set_index("model_id")[
        "rating"
    ]
    assert style.rank().corr(true.reindex(style.index).rank()) > 0.95
    # the voter-clustered interval sits beside the others on the raw overall board only, centred on
    # the rating, over every voter whose votes were counted
    raw = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")]
    assert raw["cluster_lower"].notna().all()
    assert board.drop(index=raw.index)["cluster_lower"].isna().all()
    np.testing.assert_allclose((raw["cluster_lower"] + raw["cluster_upper"]) / 2, raw["rating"])
    clustering = snap.manifest["parameters"]["voter_clustering"]
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as conn:
        voters = conn.execute(
            "SELECT count(DISTINCT user_id) FROM votes_counted WHERE voted_at < $cutoff::TIMESTAMPTZ",
            {"cutoff": snap.manifest["data_cut"]["cutoff_utc"]},
        ).fetchall()[0][0]
    assert clustering["voters"] == voters
    assert clustering["design_effect_median"] > 0.5
    coefficients = {
        c["feature"]: c["coefficient_per_unit_difference"] for c in snap.manifest["style"]["coefficients"]
    }
    assert coefficients["tokens"] == pytest.approx(summary["style_coefficients_raw"]["tokens"], rel=0.15)
    assert coefficients["latency_ms"] < 0 < coefficients["headers"]
    # the planted regional finding shows on the country boards (60k votes: a few hundred per model
    # and country, so the shrunk boards move towards it rather than reorder): the model the truth
    # favours in Europe is rated above its overall rating there, and significantly so somewhere
    de = strengths[(strengths["segment_dim"] == "country") & (strengths["segment_value"] == "DE")].set_index(
        "model_id"
    )
    favoured = (de["strength"] - true.reindex(de.index)).idxmax()
    countries = board[(board["segment_dim"] == "country") & (board["model_id"] == favoured)].set_index(
        "segment_value"
    )
    europe, elsewhere = ["DE", "FR", "GB"], ["US", "IN", "BR"]
    assert (
        countries.loc[europe, "diff_vs_overall"].mean() > countries.loc[elsewhere, "diff_vs_overall"].mean()
    )
    assert countries.loc[europe, "differs_from_overall"].any()
