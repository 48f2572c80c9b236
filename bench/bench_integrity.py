"""How well the integrity checks catch the demo world's adversaries, and what they cost honest voters.

    python bench/bench_integrity.py [--votes 300000] [--seeds 1 2 3]
    python bench/bench_integrity.py --home H --truth T   # a home already built (e.g. the 10M nightly's)

For each seed: a demo world, the pipeline through integrity (in-process Dagster), then the flags
joined with truth/users.parquet (the pipeline never reads it). Reports, per adversary kind, the share
caught; the share of honest voters flagged; and the boosted model's rating with the exclusions against
the same world without its adversaries — the same honest votes, the adversaries' votes removed by an
oracle that reads the truth — in units of the pipeline's 95% half-interval.
"""

from __future__ import annotations

import argparse
import json
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


def run_world(root: Path, seed: int, votes: int) -> Path:
    """A demo world of `votes` votes under `root`, built through integrity (in-process Dagster); its home."""
    config = demo_world.WorldConfig(votes=votes, days=30, end=date(2026, 6, 1), seed=seed)
    demo_world.generate(root / "landing", config, truth=root / "truth")
    result = materialize_pipeline(root / "landing", root / "home", as_of="2026-06-01", bootstrap_rounds=0)
    assert result.success
    return root / "home"


def score_home(home: Path, truth_dir: Path) -> str:
    """One line: the share of each adversary kind caught, honest voters flagged (by check), and the boosted
    model's rating against the same votes without the adversaries (an oracle that reads the truth), for a
    home built from the world whose truth is `truth_dir` (the pipeline never reads it)."""
    truth = pd.read_parquet(truth_dir / "users.parquet")
    boosted = json.loads((truth_dir / "params.json").read_text())["boosted_model"]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
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
    snapshot = snapshots.latest(home)
    board = snapshot.leaderboard()
    board = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")].set_index("model_id")
    stats = pd.DataFrame({"model_id": board.index, "votes": 1000, "users": 100, "top_user_share": 0.0})
    anchor = snapshot.manifest["parameters"]["anchor"]
    oracle = boards.build_board(cells, stats, anchor["model_id"], anchor["rating"]).frame.set_index(
        "model_id"
    )
    flagged = set(flags.loc[flags["excluded"], "user_id"])
    truth["caught"] = truth["user_id"].isin(flagged)
    kinds = truth.groupby("kind")["caught"].agg(["mean", "size"])
    honest = kinds.loc["honest"]
    adversaries = truth[truth["kind"] != "honest"]
    honest_checks = flags[flags["user_id"].isin(truth.loc[truth["kind"] == "honest", "user_id"])]
    shift = board.loc[boosted, "rating"] - oracle.loc[boosted, "rating"]
    half = (board.loc[boosted, "ci_upper"] - board.loc[boosted, "ci_lower"]) / 2
    per_kind = ", ".join(f"{k} {m:.0%} of {int(n)}" for k, (m, n) in kinds.drop(index="honest").iterrows())
    return (
        f"adversaries caught {adversaries['caught'].mean():.1%} ({per_kind}); honest flagged "
        f"{honest['mean']:.3%} ({int(honest['mean'] * honest['size'])} of {int(honest['size']):,}) "
        f"{honest_checks['check_name'].value_counts().to_dict()}; boosted {boosted}: {shift:+.1f} Elo vs the same "
        f"world without its adversaries ({abs(shift) / half:.2f} half-intervals)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=300_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--home", type=Path, help="score this built home instead of building worlds")
    parser.add_argument(
        "--truth", type=Path, help="with --home: the truth folder of the world it was built from"
    )
    args = parser.parse_args()
    if args.home:
        if not args.truth:
            parser.error("--home needs --truth (the world's truth folder, from demo-data --truth)")
        print(f"{args.home}: {score_home(args.home, args.truth)}", flush=True)
        return
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            home = run_world(Path(tmp), seed, args.votes)
            print(f"seed {seed}: {score_home(home, Path(tmp) / 'truth')}", flush=True)


if __name__ == "__main__":
    main()
