"""How often the published 95% intervals cover the truth, over repeated seeds.

    python bench/bench_coverage.py [--seeds 20] [--demo-seeds 4] [--small-worlds 200] [--small-worlds-plain 40]

0. Small worlds (8 models, 15 votes per model, no ties): the raw board's bootstrap and sandwich with the
   board's prior, and without it for comparison.
1. Raw board, percentile bootstrap (the published estimator: the board's prior in the fit and every
   replicate), on pure Bradley-Terry worlds with ties (12 models, 6,000 votes).
2. Style-controlled board, sandwich interval: on worlds where the style model holds exactly (12
   models, two features, 20,000 votes), and on demo worlds (truth/strengths.parquet, overall),
   rating relative to the board mean. The demo truth averages per-voter logits over that world's
   own voters; what Bradley-Terry estimates from their pooled votes differs from it by an amount of
   its own in each world, so coverage there measures that gap as much as the interval. (The raw
   board is not expected to cover the demo truth at all: it absorbs each model's average style
   advantage, which is what the style board removes.)
3. Worlds where each voter has a taste of their own (θ + u_v, u_v ~ N(0, τ²) per model, 20 votes
   each): the plain sandwich (votes independent) against the voter-clustered one. The target is
   what the board estimates in such a world, the mean of θ̂ over all the worlds (centred).
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
    parser.add_argument("--taste-worlds", type=int, default=200)
    parser.add_argument("--small-worlds", type=int, default=200)
    parser.add_argument("--small-worlds-plain", type=int, default=40)
    args = parser.parse_args()

    small_world_coverage(args.small_worlds, args.small_worlds_plain)
    voter_taste_coverage(args.taste_worlds)

    truth = np.linspace(0.8, -0.8, 12)
    names = [f"m{i:02d}" for i in range(12)]
    covered = []
    for seed in range(args.seeds):
        counts = counts_from(*simulate(6000, truth, seed=1000 + seed)[:3], names)
        # the published board's estimator: the same prior in the fit and every replicate
        fit = bt.fit_bradley_terry(counts, names[0], prior_precision=bt.RATING_PRIOR_PRECISION)
        thetas = bt.bootstrap_thetas(
            counts,
            fit.theta,
            500,
            seed=seed,
            free=np.arange(12) != 0,
            prior_precision=bt.RATING_PRIOR_PRECISION,
        )
        lo, hi = bt.percentile_interval(thetas, fit.theta)
        target = truth - truth.mean() + fit.theta.mean()
        covered.extend((lo <= target) & (target <= hi))
    print(
        f"raw board, bootstrap 95%: coverage {np.mean(covered):.3f} over {len(covered)} intervals ({args.seeds} worlds)"
    )

    covered, covered_beta = [], []
    beta = np.array([0.6, -0.3])
    for seed in range(args.seeds):
        left, right, score, x = simulate(20_000, truth, seed=2000 + seed, style=beta)
        fit = bt.fit_style_bradley_terry(tuple(names), left, right, score, x, None, names[0])
        target = truth - truth.mean() + fit.theta.mean()
        se = fit.centred_se()
        covered.extend(np.abs(fit.theta - target) <= bt.Z_95 * se)
        per_unit_se = fit.beta_se() / fit.feature_scale
        covered_beta.extend(np.abs(fit.beta / fit.feature_scale - beta) <= bt.Z_95 * per_unit_se)
    print(
        f"style board on style-BT worlds, sandwich 95%: coverage {np.mean(covered):.3f} over {len(covered)} "
        f"ratings, {np.mean(covered_beta):.3f} over {len(covered_beta)} coefficients ({args.seeds} worlds)"
    )

    covered, spearman, z = [], [], []
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
        z.extend(((theta - target) / frame["se"]).tolist())
        spearman.append(theta.rank().corr(true.rank()))
    print(
        f"style board on demo worlds, sandwich 95%: coverage {np.mean(covered):.3f} over {len(covered)} intervals; "
        f"sd of (θ̂ − truth) / SE {np.std(z):.2f} (1 if the SE told the whole story); "
        f"Spearman with the true order {np.round(spearman, 3).tolist()}"
    )


SMALL_TRUTH = np.linspace(1.5, -1.5, 8)
SMALL_NAMES = [f"m{i}" for i in range(8)]


def small_world_board(seed: int, lam: float, votes: int = 60, rounds: int = 500, ties: float = 0.0):
    """One small world (8 models, `votes` votes, truth ±1.5 logits) rated as the raw board is, with prior
    precision `lam`: (board rows in SMALL_NAMES order, models separated in the data), or None when the
    comparison graph falls apart (its parts are on scales of their own)."""
    left, right, score, _ = simulate(votes, SMALL_TRUTH, seed=3000 + seed, tie_scale=ties)
    names = np.array(SMALL_NAMES)
    winner = np.array(["right", "both_good", "left"])[(score * 2).astype(int)]
    cells = (
        pd.DataFrame({"model_left": names[left], "model_right": names[right], "winner": winner})
        .value_counts()
        .reset_index(name="n")
    )
    counts = boards.pair_counts_from_frame(cells)
    if len(bt.components(counts)) > 1 or counts.n_models < len(names):
        return None
    stats = pd.DataFrame({"model_id": names, "votes": 15, "users": 15, "top_user_share": 0.0})
    board = boards.build_board(
        cells, stats, SMALL_NAMES[0], 1000.0, bootstrap_rounds=rounds, seed=seed, prior_precision=lam
    )
    return board.frame.set_index("model_id").reindex(SMALL_NAMES), set(boards.separated_models(counts))


def small_world_coverage(worlds: int, plain_worlds: int) -> None:
    """The published raw-board intervals on worlds with ~15 votes per model and no ties (a tie keeps a
    model from being separated), where a model that never loses or never wins, in the data or in a
    resample, is common: under the board's prior, and on fewer worlds (it is slow: its separated
    replicates run on) without it, plain maximum likelihood in the fit and the replicates. Coverage is
    split between models separated in the data (every replicate of theirs is separated too, so their
    interval is where the prior puts them) and the rest."""
    for lam, count in ((bt.RATING_PRIOR_PRECISION, worlds), (0.0, plain_worlds)):
        rows, split = [], 0
        for seed in range(count):
            result = small_world_board(seed, lam)
            if result is None:
                split += 1
                continue
            frame, separated = result
            target = 1000.0 + bt.ELO_SCALE * (SMALL_TRUTH - SMALL_TRUTH.mean() + frame["theta"].mean())
            rows.append(
                pd.DataFrame(
                    {
                        "boot": (frame["ci_lower"] <= target) & (target <= frame["ci_upper"]),
                        "sandwich": (frame["sandwich_lower"] <= target) & (target <= frame["sandwich_upper"]),
                        "width": frame["ci_upper"] - frame["ci_lower"],
                        "separated": frame.index.isin(separated),
                    }
                )
            )
        table = pd.concat(rows, ignore_index=True)
        rest = table[~table["separated"]]
        print(
            f"small worlds (15 votes per model), prior lambda {lam:g}, {count - split} worlds ({split} split "
            f"apart, left out): bootstrap 95% coverage {table['boot'].mean():.3f}, sandwich "
            f"{table['sandwich'].mean():.3f} over {len(table)} intervals; the {len(rest)} of models not "
            f"separated in the data {rest['boot'].mean():.3f} and {rest['sandwich'].mean():.3f}, the "
            f"{int(table['separated'].sum())} separated {table.loc[table['separated'], 'boot'].mean():.3f}; "
            f"bootstrap width median {table['width'].median():.0f} Elo, 99th percentile "
            f"{table['width'].quantile(0.99):.0f}, largest {table['width'].max():.0f}"
        )


def voter_taste_coverage(worlds: int, taste_sd: float = 0.7, voters: int = 300, per_voter: int = 20) -> None:
    rng = np.random.default_rng(77)
    m = 12
    truth = np.linspace(0.8, -0.8, m)
    names = [f"m{i:02d}" for i in range(m)]
    thetas, plain_se, cluster_se, boot_lo, boot_hi = [], [], [], [], []
    for _ in range(worlds):
        voter = np.repeat(np.arange(voters), per_voter)
        taste = truth + rng.normal(0.0, taste_sd, (voters, m))
        left = rng.integers(0, m, len(voter))
        right = (left + rng.integers(1, m, len(voter))) % m
        p = 1 / (1 + np.exp(-(taste[voter, left] - taste[voter, right])))
        score = (rng.random(len(voter)) < p).astype(float)
        counts = counts_from(left, right, score, names)
        fit = bt.fit_bradley_terry(counts, names[0])
        cells = bt.PairCounts(tuple(names), left, right, score, np.ones(len(voter)))
        clustered = bt.clustered_sandwich_covariance(cells, fit.theta, 0, voter)
        boot = bt.bootstrap_thetas(counts, fit.theta, 200, seed=len(thetas), free=np.arange(m) != 0)
        lo, hi = bt.percentile_interval(boot, fit.theta)
        boot_lo.append(lo - fit.theta.mean())
        boot_hi.append(hi - fit.theta.mean())
        thetas.append(fit.theta - fit.theta.mean())
        plain_se.append(fit.centred_se())
        cluster_se.append(bt.centred_se(clustered))
    thetas, plain_se, cluster_se = np.array(thetas), np.array(plain_se), np.array(cluster_se)
    target = thetas.mean(axis=0)
    covered = (np.array(boot_lo) <= target) & (target <= np.array(boot_hi))
    print(
        f"voter tastes (sd {taste_sd}), vote bootstrap 95% (the published interval): coverage "
        f"{covered.mean():.3f} over {covered.size} intervals"
    )
    for name, se in (("plain sandwich", plain_se), ("voter-clustered sandwich", cluster_se)):
        covered = np.abs(thetas - target) <= bt.Z_95 * se
        print(
            f"voter tastes (sd {taste_sd}), {name} 95%: coverage {covered.mean():.3f} over {covered.size} intervals; "
            f"mean SE / spread of θ̂ across worlds {np.mean(se.mean(axis=0) / thetas.std(axis=0)):.2f}"
        )


if __name__ == "__main__":
    main()
