"""How well the integrity checks catch the demo world's adversaries, and what they cost honest voters.

    python bench/bench_integrity.py [--votes 300000] [--seeds 1 2 3]

For each seed: a demo world, the pipeline through integrity (in-process Dagster), then the flags
joined with truth/users.parquet (the pipeline never reads it). Reports, per adversary kind, the share
caught; the share of honest voters flagged; and the boosted model's rating with the exclusions against
the same world without its adversaries — the same honest votes, the adversaries' votes removed by an
oracle that reads the truth — in units of the pipeline's 95% half-interval.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from showdown_pipeline import snapshots  # noqa: E402
from showdown_pipeline.core import boards, demo_world  # noqa: E402
from showdown_pipeline_tests.conftest import materialize_pipeline  # noqa: E402


def run_world(root: Path, seed: int, votes: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    config = demo_world.WorldConfig(votes=votes, days=30, end=date(2026, 6, 1), seed=seed)
    summary = demo_world.generate(root / "landing", config, truth=root / "truth")
    result = materialize_pipeline(root / "landing", root / "home", as_of="2026-06-01", bootstrap_rounds=0)
    assert result.success
    truth = pd.read_parquet(root / "truth" / "users.parquet")
    with duckdb.connect(str(root / "home" / "warehouse.duckdb"), read_only=True) as conn:
        flags = conn.sql("SELECT user_id, check_name, excluded FROM user_flags").to_arrow_table().to_pandas()
        conn.register("adversaries", truth[truth["kind"] != "honest"][["user_id"]])
        cells = (
            conn.sql(
                "SELECT model_left, model_right, winner, count(*) AS n FROM votes_clean "
                "WHERE user_id NOT IN (SELECT user_id FROM adversaries) GROUP BY ALL"
            )
            .to_arrow_table()
            .to_pandas()
        )
    board = snapshots.latest(root / "home").leaderboard()
    overall = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")].set_index("model_id")
    stats = pd.DataFrame({"model_id": overall.index, "votes": 1000, "users": 100, "top_user_share": 0.0})
    anchor = snapshots.latest(root / "home").manifest["parameters"]["anchor"]
    oracle = boards.build_board(cells, stats, anchor["model_id"], anchor["rating"]).frame.set_index(
        "model_id"
    )
    return flags, overall, oracle, {**summary, "truth": truth}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=300_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            flags, board, oracle, summary = run_world(Path(tmp), seed, args.votes)
        truth = summary["truth"]
        flagged = set(flags.loc[flags["excluded"], "user_id"])
        truth["caught"] = truth["user_id"].isin(flagged)
        kinds = truth.groupby("kind")["caught"].agg(["mean", "size"])
        honest = kinds.loc["honest"]
        adversaries = truth[truth["kind"] != "honest"]
        honest_checks = flags[flags["user_id"].isin(truth.loc[truth["kind"] == "honest", "user_id"])]
        boosted = summary["boosted_model"]
        shift = board.loc[boosted, "rating"] - oracle.loc[boosted, "rating"]
        half = (board.loc[boosted, "ci_upper"] - board.loc[boosted, "ci_lower"]) / 2
        per_kind = ", ".join(
            f"{k} {m:.0%} of {int(n)}" for k, (m, n) in kinds.drop(index="honest").iterrows()
        )
        print(
            f"seed {seed}: adversaries caught {adversaries['caught'].mean():.1%} ({per_kind}); honest flagged "
            f"{honest['mean']:.3%} of {int(honest['size']):,} {honest_checks['check_name'].value_counts().to_dict()}; "
            f"boosted {boosted}: {shift:+.1f} Elo vs the same world without its adversaries "
            f"({abs(shift) / half:.2f} half-intervals)",
            flush=True,
        )


if __name__ == "__main__":
    main()
