"""Do the style segment boards recover the demo world's true per-segment strengths? (issue 16, part 1)

    python bench/bench_style_segments.py [--votes 200000] [--days 30] [--min-votes 5000] [--keep DIR]

Generates a clean demo world (core/demo_world.py: no adversaries, no corruption; its truth folder holds each
model's true strength per segment value, `truth_strengths`), runs every stage of the pipeline on it
in-process (bootstraps off: the recovery of the point estimates is what is measured), and correlates each
well-sampled segment value's published style ratings with the true strengths of its models (Pearson over
the models of that value). A value is well-sampled with at least --min-votes votes. Prints the median per
dimension and over all five, beside the raw segment boards (which the world's length bias pulls away from
the truth) and the coefficient-shift test's rejection rate (the world has one set of style coefficients
for everybody, so about 5% of tested values should have p < 0.05).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd

from showdown_pipeline import snapshots
from showdown_pipeline.core import demo_world, run_cut
from showdown_pipeline.core.boards import SEGMENT_DIMENSIONS
from showdown_pipeline.definitions import ASSET_CHECKS, REBUILD_ASSETS
from showdown_pipeline.defs.partitions import landing_range_tags
from showdown_pipeline.defs.resources import build_resources


def publish(landing: Path, home: Path, as_of: date) -> snapshots.Snapshot:
    result = dg.materialize(
        [*REBUILD_ASSETS, *ASSET_CHECKS],
        resources=build_resources(landing, home),
        run_config={
            "ops": {
                "overall_ratings": {"config": {"bootstrap_rounds": 0}},
                "segment_ratings": {"config": {"bootstrap_rounds": 0}},
            }
        },
        instance=dg.DagsterInstance.ephemeral(),
        tags={**landing_range_tags(landing), run_cut.TAG_AS_OF: as_of.isoformat()},
        raise_on_error=True,
    )
    assert result.success
    return snapshots.latest(home)


def correlations(board: pd.DataFrame, truth: pd.DataFrame, kind: str, min_votes: int) -> pd.DataFrame:
    """One row per well-sampled (dimension, value) of board `kind`: votes and the Pearson correlation of
    its ratings with the true strengths."""
    rows = []
    segments = board[(board["board"] == kind) & (board["segment_dim"] != "overall")]
    true = truth.set_index(["segment_dim", "segment_value", "model_id"])["strength"]
    for (dim, value), part in segments.groupby(["segment_dim", "segment_value"]):
        votes = part["votes"].sum() / 2  # each vote shows two models
        if votes < min_votes or len(part) < 3:
            continue
        target = true.reindex(
            pd.MultiIndex.from_arrays([[dim] * len(part), [value] * len(part), part["model_id"]])
        )
        ok = target.notna().to_numpy()
        r = np.corrcoef(part["rating"].to_numpy()[ok], target.to_numpy()[ok])[0, 1]
        rows.append((dim, value, votes, r))
    return pd.DataFrame(rows, columns=["segment_dim", "segment_value", "votes", "r"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--min-votes", type=int, default=5_000)
    parser.add_argument("--keep", help="keep the landing zone, truth and home under this folder")
    args = parser.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-style-seg-"))
    end = date(2026, 6, 1)
    config = demo_world.WorldConfig(
        votes=args.votes, days=args.days, end=end, seed=args.seed, adversary_share=0.0
    )
    started = time.perf_counter()
    demo_world.generate(root / "landing", config, truth=root / "truth")
    generated = time.perf_counter()
    snap = publish(root / "landing", root / "home", end)
    done = time.perf_counter()
    board, truth = snap.leaderboard(), pd.read_parquet(root / "truth" / "strengths.parquet")
    print(
        f"demo world: {args.votes:,} votes, {args.days} days, seed {args.seed}; generated in "
        f"{generated - started:.0f} s, every stage in {done - generated:.0f} s"
    )
    style = correlations(board, truth, "style", args.min_votes)
    raw = correlations(board, truth, "raw", args.min_votes)
    print(f"well-sampled: at least {args.min_votes:,} votes; Pearson r of ratings with the true strengths")
    print(f"{'dimension':<12} {'values':>6} {'style median r':>15} {'style min r':>12} {'raw median r':>13}")
    for dim in SEGMENT_DIMENSIONS:
        s, r = style[style["segment_dim"] == dim], raw[raw["segment_dim"] == dim]
        print(
            f"{dim:<12} {len(s):>6} {s['r'].median():>15.4f} {s['r'].min():>12.4f} {r['r'].median():>13.4f}"
        )
    print(
        f"{'all five':<12} {len(style):>6} {style['r'].median():>15.4f} {style['r'].min():>12.4f} "
        f"{raw['r'].median():>13.4f}"
    )
    tests = board[(board["board"] == "style") & (board["segment_dim"] != "overall")]
    p = tests.groupby(["segment_dim", "segment_value"])["style_shift_p_value"].first().dropna()
    print(
        f"coefficient-shift score test: {len(p)} values tested, {np.mean(p < 0.05):.1%} with p < 0.05 "
        "(the world has no shift: about 5% expected)"
    )
    target = style["r"].median()
    print(f"target: median r >= 0.95 over well-sampled values of all five dimensions: {target:.4f}", end=" ")
    print("MET" if target >= 0.95 and set(style["segment_dim"]) == set(SEGMENT_DIMENSIONS) else "NOT MET")


if __name__ == "__main__":
    main()
