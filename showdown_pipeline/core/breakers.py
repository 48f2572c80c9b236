"""Publication circuit breakers: predicates a board must satisfy before a snapshot is published.

Each breaker is a pure function from what it guards (counts, a board table, the latest snapshot's board)
to a `Verdict`; `defs/publish/breakers.py` runs them as blocking asset checks on the assets they guard,
so a tripped breaker stops the snapshot and `LATEST` stays where it was. An operator may override named
breakers for one run (`showdown run --override-breaker NAME`, tag `showdown/override_breakers`); the
manifest records the override. The thresholds live here, in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

COUNTED_VOTES = "counted_votes_not_collapsed"
EXCLUSIONS = "exclusions_within_limit"
MOVEMENT = "no_movement_without_new_votes"
FINITE = "ratings_and_intervals_finite"
ANCHOR = "anchor_at_pinned_value"
CONTAINS = "intervals_contain_estimates"
BREAKER_NAMES = (COUNTED_VOTES, EXCLUSIONS, MOVEMENT, FINITE, ANCHOR, CONTAINS)

# (lower, upper, estimate): every interval a board publishes, and what it must contain.
INTERVALS = (
    ("ci_lower", "ci_upper", "rating"),
    ("sandwich_lower", "sandwich_upper", "rating"),
    ("cluster_lower", "cluster_upper", "rating"),
    ("diff_lower", "diff_upper", "diff_vs_overall"),
)
REQUIRED_FINITE = ("rating", "ci_lower", "ci_upper")  # never empty on a published row
OPTIONAL_FINITE = (  # may be empty by design (e.g. cluster_* off the raw overall board), never ±inf
    "sandwich_lower",
    "sandwich_upper",
    "cluster_lower",
    "cluster_upper",
    "rating_unshrunk",
    "diff_vs_overall",
    "diff_lower",
    "diff_upper",
)
_SAMPLE = 10


@dataclass(frozen=True)
class BreakerThresholds:
    """Where each breaker trips. Defaults and why:

    - `max_counted_drop_share` 0.10: counted votes only fall between two snapshots when integrity removes
      more votes or history goes missing; a newly caught campaign is a few percent (the demo world's
      adversaries are ~3% of votes), losing a tenth of the history is never organic.
    - `max_excluded_share` 0.25: integrity removes 9.5% of the valid votes of a 150k-vote demo world
      (whose adversaries are over-represented on purpose); a quarter means a check or its threshold went
      wrong, not that a quarter of contributors turned fraudulent overnight.
    - `max_move_elo` 20 and `max_move_ranks` 2: a model with no new votes moves only through its
      opponents' new votes. Measured on that demo world (centred over the models both boards rate, so the
      anchor choice does not matter): over a week of new votes (+10%) the largest move of ANY model was
      2.4 Elo and 2 places, the model without new votes moved 0.06 Elo and 0 places; 20 Elo, or more than
      two places, for a model without new votes means something other than votes moved it.
    - `anchor_tolerance_elo` 1e-6: the anchor is pinned exactly; anything beyond float rounding is a bug.
    - `containment_tolerance_elo` 1e-6: an interval must contain its estimate up to float rounding.
    """

    max_counted_drop_share: float = 0.10
    max_excluded_share: float = 0.25
    max_move_elo: float = 20.0
    max_move_ranks: int = 2
    anchor_tolerance_elo: float = 1e-6
    containment_tolerance_elo: float = 1e-6


@dataclass(frozen=True)
class Verdict:
    """A breaker's evaluation: `value` is what it measured, `limit` where it trips, `reason` one line."""

    name: str
    passed: bool
    value: float | None
    limit: float | None
    reason: str
    sample: list = field(default_factory=list)


def counted_votes_not_collapsed(
    counted: int, previous: int | None, as_of: str, previous_as_of: str | None, t: BreakerThresholds
) -> Verdict:
    """Counted votes before the cut fell by more than `max_counted_drop_share` since the latest snapshot."""
    limit = t.max_counted_drop_share
    if previous is None or previous_as_of is None:
        return Verdict(COUNTED_VOTES, True, None, limit, "no earlier snapshot to compare with")
    if as_of < previous_as_of:
        return Verdict(
            COUNTED_VOTES,
            True,
            None,
            limit,
            f"cut {as_of} is earlier than the latest snapshot's {previous_as_of}; counts not comparable",
        )
    drop = (previous - counted) / previous if previous else 0.0
    reason = (
        f"counted votes {previous:,} -> {counted:,} ({-drop:+.1%}) since the snapshot as of {previous_as_of}"
    )
    return Verdict(COUNTED_VOTES, drop <= limit, round(drop, 6), limit, reason + f"; limit -{limit:.0%}")


def exclusions_within_limit(valid: int, counted: int, t: BreakerThresholds) -> Verdict:
    """Integrity excluded more than `max_excluded_share` of the valid votes before the cut."""
    share = (valid - counted) / valid if valid else 0.0
    reason = f"integrity excluded {valid - counted:,} of {valid:,} valid votes ({share:.1%}); limit {t.max_excluded_share:.0%}"
    return Verdict(EXCLUSIONS, share <= t.max_excluded_share, round(share, 6), t.max_excluded_share, reason)


def ratings_and_intervals_finite(board: pd.DataFrame, t: BreakerThresholds) -> Verdict:
    """Every rating and published interval bound is a finite number (optional columns may be empty)."""
    bad = pd.Series(False, index=board.index)
    for column in REQUIRED_FINITE:
        bad |= ~np.isfinite(pd.to_numeric(board[column], errors="coerce").astype(float))
    for column in OPTIONAL_FINITE:
        if column in board:
            values = pd.to_numeric(board[column], errors="coerce").astype(float)
            bad |= np.isinf(values)
    offenders = board.loc[bad]
    reason = f"{len(offenders)} rows with a rating or interval that is not finite" + _models(offenders)
    return Verdict(FINITE, offenders.empty, float(len(offenders)), 0.0, reason, _sample(offenders))


def intervals_contain_estimates(board: pd.DataFrame, t: BreakerThresholds) -> Verdict:
    """Every published interval contains its estimate (lower <= estimate <= upper, up to rounding)."""
    bad = pd.Series(False, index=board.index)
    tol = t.containment_tolerance_elo
    for lower, upper, estimate in INTERVALS:
        if lower not in board or upper not in board:
            continue
        lo, hi, est = (
            pd.to_numeric(board[c], errors="coerce").astype(float) for c in (lower, upper, estimate)
        )
        present = lo.notna() & hi.notna() & est.notna()
        bad |= present & ((lo > est + tol) | (hi < est - tol))
    offenders = board.loc[bad]
    reason = f"{len(offenders)} rows whose interval does not contain the estimate" + _models(offenders)
    return Verdict(CONTAINS, offenders.empty, float(len(offenders)), 0.0, reason, _sample(offenders))


def anchor_at_pinned_value(
    board: pd.DataFrame, anchor_model: str, anchor_rating: float, t: BreakerThresholds
) -> Verdict:
    """The anchor model is on the board at exactly its pinned rating."""
    rows = board.loc[board["model_id"] == anchor_model, "rating"]
    if rows.empty:
        reason = f"the anchor {anchor_model} is not on the board"
        return Verdict(ANCHOR, False, None, anchor_rating, reason)
    gaps = np.abs(rows.astype(float).to_numpy() - anchor_rating)
    off = float(gaps.max()) if np.isfinite(gaps).all() else math.inf
    reason = f"the anchor {anchor_model} is at {float(rows.iloc[0]):.6f}, pinned at {anchor_rating:g}"
    return Verdict(ANCHOR, off <= t.anchor_tolerance_elo, off, t.anchor_tolerance_elo, reason)


def no_movement_without_new_votes(
    board: pd.DataFrame, previous: pd.DataFrame | None, t: BreakerThresholds
) -> Verdict:
    """No model without new votes since the latest snapshot (its count unchanged, or fallen: integrity removed
    some of its votes, or history went missing) moved more than `max_move_elo`, or more than `max_move_ranks`
    places among the models both boards rate. Losing votes is no licence to move: a fall of 1% must not let
    a leader drop 300 Elo unchecked.

    Ratings are compared centred on the mean of the models both boards rate, so a different anchor (or an
    anchor that gained votes) does not count as movement; places are ranks by rating among those models, so a
    newcomer above a model does not move it.
    """
    limit = t.max_move_elo
    if previous is None or previous.empty:
        return Verdict(MOVEMENT, True, None, limit, "no earlier snapshot to compare with")
    joined = board[["model_id", "rating", "votes"]].merge(
        previous[["model_id", "rating", "votes"]], on="model_id", suffixes=("", "_before")
    )
    joined = joined.set_index("model_id").astype({"rating": float, "rating_before": float})
    joined = joined[np.isfinite(joined["rating"]) & np.isfinite(joined["rating_before"])]
    centred = (joined["rating"] - joined["rating"].mean()) - (
        joined["rating_before"] - joined["rating_before"].mean()
    )
    places = joined["rating"].rank(ascending=False, method="min") - joined["rating_before"].rank(
        ascending=False, method="min"
    )
    still = joined["votes"] <= joined["votes_before"]
    if not still.any():
        return Verdict(MOVEMENT, True, 0.0, limit, "every model on both boards has new votes")
    moved, places = centred[still], places[still]
    offenders = pd.DataFrame({"moved_elo": moved, "moved_places": places})
    offenders = offenders[(moved.abs() > limit) | (places.abs() > t.max_move_ranks)]
    largest = float(moved.abs().max())
    reason = (
        f"{len(offenders)} of {int(still.sum())} models without new votes moved more than {limit:g} Elo or "
        f"{t.max_move_ranks} places (largest move {largest:.1f} Elo)" + _models(offenders.reset_index())
    )
    sample = [
        {"model_id": m, "moved_elo": round(float(r.moved_elo), 3), "moved_places": int(r.moved_places)}
        for m, r in offenders.head(_SAMPLE).iterrows()
    ]
    return Verdict(MOVEMENT, offenders.empty, round(largest, 6), limit, reason, sample)


def _models(rows: pd.DataFrame) -> str:
    if rows.empty or "model_id" not in rows:
        return ""
    names = list(dict.fromkeys(str(m) for m in rows["model_id"]))
    return ": " + ", ".join(names[:5]) + (" …" if len(names) > 5 else "")


def _sample(rows: pd.DataFrame) -> list[dict]:
    keep = [c for c in ("segment_value", "model_id", "rating", "ci_lower", "ci_upper") if c in rows]
    return [
        {k: (v if not isinstance(v, float) or math.isfinite(v) else str(v)) for k, v in r.items()}
        for r in rows[keep].head(_SAMPLE).to_dict("records")
    ]
