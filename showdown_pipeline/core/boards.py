"""A leaderboard from aggregated counts: fit, interval, rank, and whether each row is provisional.

Plain pandas/numpy; the rating math itself is in `bradley_terry.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline.core.vote_schema import WINNER_SCORE

LEADERBOARD_COLUMNS: tuple[str, ...] = (
    "board",
    "segment_dim",
    "segment_value",
    "model_id",
    "rating",
    "ci_lower",
    "ci_upper",
    "rank",
    "votes",
    "users",
    "provisional",
    "provisional_reason",
)


@dataclass(frozen=True)
class Thresholds:
    """When a model's row is solid rather than provisional (DESIGN §3 defaults)."""

    min_votes: int = 300
    min_users: int = 50
    max_user_share: float = 0.10


@dataclass
class Board:
    frame: pd.DataFrame  # LEADERBOARD_COLUMNS plus theta, se
    anchor: str
    anchor_rating: float
    unrated: dict[str, str] = field(default_factory=dict)  # model -> why it has no row
    notes: list[str] = field(default_factory=list)
    fit: bt.BTFit | None = None


def pair_counts_from_frame(cells: pd.DataFrame) -> bt.PairCounts:
    """`cells` has model_left, model_right, winner, n (one row per distinct cell, from SQL)."""
    score = cells["winner"].map(WINNER_SCORE)
    if score.isna().any():
        bad = sorted(cells.loc[score.isna(), "winner"].astype(str).unique())
        raise bt.RatingError(f"unexpected winner labels in counted votes: {bad}")
    return bt.PairCounts.from_cells(
        list(cells["model_left"]),
        list(cells["model_right"]),
        score.to_numpy(),
        cells["n"].to_numpy(dtype=float),
    )


def build_board(
    cells: pd.DataFrame,
    stats: pd.DataFrame,
    anchor: str,
    anchor_rating: float,
    thresholds: Thresholds = Thresholds(),
    board: str = "raw",
    segment_dim: str = "overall",
    segment_value: str = "all",
) -> Board:
    """Fit the models connected to the anchor; the others are listed as unrated with the reason."""
    counts = pair_counts_from_frame(cells)
    unrated: dict[str, str] = {}
    if anchor not in counts.models:
        raise bt.RatingError(f"anchor model {anchor!r} has no counted votes; choose another with --anchor")
    groups = bt.components(counts)
    if len(groups) > 1:
        anchor_group = next(g for g in groups if anchor in g)
        for g in groups:
            if g is not anchor_group:
                for m in g:
                    unrated[m] = "not connected to the anchor's comparison graph"
        counts = counts.subset(anchor_group)
    fit = bt.fit_bradley_terry(counts, anchor)
    rating = fit.ratings(anchor_rating)
    lower, upper = fit.intervals(anchor_rating)
    frame = pd.DataFrame(
        {
            "board": board,
            "segment_dim": segment_dim,
            "segment_value": segment_value,
            "model_id": list(fit.models),
            "rating": rating,
            "ci_lower": lower,
            "ci_upper": upper,
            "rank": bt.rank_by_intervals(lower, upper),
            "theta": fit.theta,
            "se": fit.centred_se(),
        }
    )
    stats = stats.set_index("model_id")
    frame["votes"] = frame["model_id"].map(stats["votes"]).fillna(0).astype("int64")
    frame["users"] = frame["model_id"].map(stats["users"]).fillna(0).astype("int64")
    share = frame["model_id"].map(stats["top_user_share"]).fillna(1.0)
    reasons = []
    for votes, users, top_share in zip(frame["votes"], frame["users"], share, strict=True):
        why = []
        if votes < thresholds.min_votes:
            why.append(f"votes {votes} < {thresholds.min_votes}")
        if users < thresholds.min_users:
            why.append(f"users {users} < {thresholds.min_users}")
        if top_share > thresholds.max_user_share:
            why.append(f"one user cast {top_share:.0%} of its votes (> {thresholds.max_user_share:.0%})")
        if not fit.mle_exists:
            why.append("ratings fitted with a ridge because the maximum-likelihood estimate does not exist")
        reasons.append("; ".join(why) or None)
    frame["provisional_reason"] = reasons
    frame["provisional"] = frame["provisional_reason"].notna()
    frame = frame.sort_values(["rank", "rating", "model_id"], ascending=[True, False, True]).reset_index(
        drop=True
    )
    ordered = [*LEADERBOARD_COLUMNS, "theta", "se"]
    return Board(
        frame=frame[ordered],
        anchor=anchor,
        anchor_rating=anchor_rating,
        unrated=unrated,
        notes=list(fit.notes),
        fit=fit,
    )
