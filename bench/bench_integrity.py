"""How well the integrity checks catch the demo world's adversaries, and what they cost honest voters.

    python bench/bench_integrity.py [--votes 300000] [--seeds 1 2 3]

For each seed: a demo world, the pipeline through integrity (in-process Dagster), then the flags
joined with truth/users.parquet (the pipeline never reads it). Reports, per adversary kind, the share
caught; the share of honest voters flagged; and the boosted model's rating with the exclusions against
the same world generated without adversaries (in units of its 95% half-interval).
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
from showdown_pipeline.core import demo_world  # noqa: E402
from showdown_pipeline_tests.conftest import materialize_pipeline  # noqa: E402


def run_world(
    root: Path, seed: int, votes: int, adversary_share: float
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    config = demo_world.WorldConfig(
        votes=votes, days=30, end=date(2026, 6, 1), seed=seed, adversary_share=adversary_share
    )
    summary = demo_world.generate(root / "landing", config, truth=root / "truth")
    result = materialize_pipeline(root / "landing", root / "home", as_of="2026-06-01", bootstrap_rounds=0)
    assert result.success
    with duckdb.connect(str(root / "home" / "warehouse.duckdb"), read_only=True) as conn:
        flags = conn.sql("SELECT user_id, check_name, excluded FROM user_flags").to_arrow_table().to_pandas()
    board = snapshots.latest(root / "home").leaderboard()
    overall = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")].set_index("model_id")
    return flags, overall, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=300_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            flags, board, summary = run_world(Path(tmp) / "adv", seed, args.votes, 0.04)
            truth = pd.read_parquet(Path(tmp) / "adv" / "truth" / "users.parquet")
            _, clean_board, _ = run_world(Path(tmp) / "clean", seed, args.votes, 0.0)
        flagged = set(flags.loc[flags["excluded"], "user_id"])
        truth["caught"] = truth["user_id"].isin(flagged)
        kinds = truth.groupby("kind")["caught"].agg(["mean", "size"])
        honest = kinds.loc["honest"]
        adversaries = truth[truth["kind"] != "honest"]
        boosted = summary["boosted_model"]
        shift = board.loc[boosted, "rating"] - clean_board.loc[boosted, "rating"]
        half = (clean_board.loc[boosted, "ci_upper"] - clean_board.loc[boosted, "ci_lower"]) / 2
        per_kind = ", ".join(
            f"{k} {m:.0%} of {int(n)}" for k, (m, n) in kinds.drop(index="honest").iterrows()
        )
        print(
            f"seed {seed}: adversaries caught {adversaries['caught'].mean():.1%} ({per_kind}); honest flagged "
            f"{honest['mean']:.3%} of {int(honest['size']):,}; boosted {boosted}: {shift:+.1f} Elo vs the clean world "
            f"({abs(shift) / half:.2f} half-intervals)",
            flush=True,
        )


if __name__ == "__main__":
    main()
