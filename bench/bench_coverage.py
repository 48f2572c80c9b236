"""How often the published 95% intervals cover the truth, over repeated seeds.

    python bench/bench_coverage.py [--seeds 20] [--demo-seeds 4]

1. Raw board, percentile bootstrap, on pure Bradley-Terry worlds with ties (12 models, 6,000 votes).
2. Style-controlled board, sandwich interval, on demo worlds (truth/strengths.parquet, overall),
   rating relative to the board mean. The raw board is not expected to cover the demo truth: it
   absorbs each model's average style advantage, which is what the style board removes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from showdown_pipeline.core import boards, demo_world  # noqa: E402
from showdown_pipeline.core import bradley_terry as bt  # noqa: E402
from showdown_pipeline_tests.core.test_ratings_engine import counts_from, simulate  # noqa: E402

STYLE_ROWS_SQL = """
SELECT model_left, model_right, winner,
    coalesce((tokens_left - tokens_right) / nullif(tokens_left + tokens_right, 0), 0.0) AS tokens,
    coalesce((headers_left - headers_right) / nullif(headers_left + headers_right, 0), 0.0) AS headers,
    coalesce((lists_left - lists_right) / nullif(lists_left + lists_right, 0), 0.0) AS lists,
    coalesce((bold_left - bold_right) / nullif(bold_left + bold_right, 0), 0.0) AS bold,
    coalesce((latency_ms_left - latency_ms_right) / nullif(latency_ms_left + latency_ms_right, 0), 0.0) AS latency_ms,
    count(*) AS n
FROM (
    SELECT model_left, model_right, winner, tokens_left, tokens_right, headers_left, headers_right, lists_left,
        lists_right, bold_left, bold_right, latency_ms_left, latency_ms_right
    FROM read_json($jsonl, format = 'newline_delimited')
    UNION ALL
    SELECT model_left, model_right, winner, tokens_left, tokens_right, headers_left, headers_right, lists_left,
        lists_right, bold_left, bold_right, latency_ms_left, latency_ms_right
    FROM read_parquet($parquet)
)
GROUP BY ALL
"""


def demo_style_board(landing: Path) -> pd.DataFrame:
    """The style board straight from a demo landing zone (clean world: every row is valid)."""
    with duckdb.connect() as conn:
        rows = (
            conn.sql(
                STYLE_ROWS_SQL,
                params={
                    "jsonl": str(landing / "votes" / "*" / "*.jsonl.gz"),
                    "parquet": str(landing / "votes" / "*" / "*.parquet"),
                },
            )
            .to_arrow_table()
            .to_pandas()
        )
    anchor = pd.read_csv(landing / "models.csv")["model_id"][0]
    stats = pd.DataFrame(
        {
            "model_id": pd.unique(rows[["model_left", "model_right"]].to_numpy().ravel()),
            "votes": 1000,
            "users": 100,
            "top_user_share": 0.0,
        }
    )
    return boards.build_style_board(rows, stats, anchor, 1000.0).frame


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--demo-seeds", type=int, default=4)
    parser.add_argument("--demo-votes", type=int, default=150_000)
    args = parser.parse_args()

    truth = np.linspace(0.8, -0.8, 12)
    names = [f"m{i:02d}" for i in range(12)]
    covered = []
    for seed in range(args.seeds):
        counts = counts_from(*simulate(6000, truth, seed=1000 + seed)[:3], names)
        fit = bt.fit_bradley_terry(counts, names[0])
        thetas = bt.bootstrap_thetas(counts, fit.theta, 500, seed=seed, free=np.arange(12) != 0)
        lo, hi = bt.percentile_interval(thetas, fit.theta)
        target = truth - truth.mean() + fit.theta.mean()
        covered.extend((lo <= target) & (target <= hi))
    print(
        f"raw board, bootstrap 95%: coverage {np.mean(covered):.3f} over {len(covered)} intervals ({args.seeds} worlds)"
    )

    covered, spearman = [], []
    for seed in range(args.demo_seeds):
        with tempfile.TemporaryDirectory() as tmp:
            config = demo_world.WorldConfig(
                votes=args.demo_votes, days=20, end=date(2026, 6, 1), seed=500 + seed, adversary_share=0.0
            )
            demo_world.generate(Path(tmp) / "landing", config, truth=Path(tmp) / "truth")
            frame = demo_style_board(Path(tmp) / "landing").set_index("model_id")
            strengths = pd.read_parquet(Path(tmp) / "truth" / "strengths.parquet")
        true = (
            strengths[strengths["segment_dim"] == "overall"]
            .set_index("model_id")["strength"]
            .reindex(frame.index)
        )
        theta = frame["theta"]
        target = true - true.mean() + theta.mean()
        lo = theta - bt.Z_95 * frame["se"]
        hi = theta + bt.Z_95 * frame["se"]
        covered.extend(((lo <= target) & (target <= hi)).tolist())
        spearman.append(theta.rank().corr(true.rank()))
    print(
        f"style board on demo worlds, sandwich 95%: coverage {np.mean(covered):.3f} over {len(covered)} intervals; "
        f"Spearman with the true order {np.round(spearman, 3).tolist()}"
    )


if __name__ == "__main__":
    main()
