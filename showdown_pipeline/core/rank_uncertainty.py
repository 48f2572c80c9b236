"""Honest rank uncertainty from a board's bootstrap replicates (issue 16, DESIGN §6): simultaneous 95%
rank intervals, the chance of being first or in the top five, and tiers.

**Rank intervals** (`rank_lower`, `rank_upper`) are the simultaneous confidence set for all ranks of
Mogstad, Romano, Shaikh & Wilhelm, "Inference for Ranks with Applications to Mobility across
Neighbourhoods and Academic Achievement across Countries", Review of Economic Studies 91(1), 2024
(doi:10.1093/restud/rdad006), in its stepwise form, with the bootstrap replicates of the fit standing in
for their parametric draws. The rank of model j is r_j = 1 + #{k : θ_k > θ_j} (1 is best; equal
strengths share the better rank). The family of claims is "θ_k > θ_l" for every ordered pair (k, l).
With D = θ_k − θ_l, its estimate D̂, its bootstrap standard error s (the sd of D over the replicates)
and the replicates' centred statistic Z*_kl = (D*_kl − D̂_kl) / s_kl, a step computes the 95% quantile c
of max Z*_kl over the claims not yet made (the max-t critical value) and makes every claim with
D̂_kl / s_kl > c; the steps repeat on the remaining claims until none is added (Romano & Wolf,
"Exact and Approximate Stepdown Methods for Multiple Hypothesis Testing", JASA 100(469), 2005). With
probability ≥ 95% (asymptotically) no claim is false, and then every true rank lies in its interval at
once:

    rank_lower_j = 1 + #{k : θ_k > θ_j claimed}      rank_upper_j = m − #{k : θ_j > θ_k claimed}

(m models). Each interval holds the model's rank by point estimate, and a claimed order is always one
a plain pairwise 95% bootstrap-t test makes too: while neither order of a pair is claimed, the max runs
over both, so c is at least that pair's own two-sided critical value. (The simpler construction of
Klein, Wright & Wieczorek, "A joint confidence region for an overall ranking of populations", JRSS C
69(3), 2020 — ranks from overlaps of simultaneous intervals for each θ — is valid too but wider; it is
not used.)

Conventions, each chosen so that nothing is claimed that the replicates do not show:
- The differences' standard errors are floored at `SE_FLOOR` (1e-6 logits, the bootstrap's convergence
  tolerance): a difference the replicates never move (e.g. two models with only ties against each other)
  is never called separated by dividing noise by noise.
- The quantile is the `higher` order statistic (never interpolated down).
- Fewer than `MIN_ROUNDS` replicates: no columns at all (null), never a guess.

**p_top1, p_top5**: the share of replicates in which the model is first / in the top five of its board
(component). Replicate values equal to within `TIE_GRID` (1e-6 logits) are ties; tied models share the
places they straddle equally, so over one board p_top1 sums to 1 and p_top5 to min(5, m).

**Tiers** (`tier`, 1 is best): walk the models in order of estimated strength (ties by model order) and
start a new tier at the first model that the simultaneous procedure separates from any model already in
the current tier. So no two models of one tier are separable at 95%, tiers are contiguous in the
estimated order, and each tier after the first begins with a model that some model of the tier above
beats, claimed with the same simultaneous 95% as the rank intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LEVEL = 0.95
TOP_FIVE = 5
# logits: the bootstrap's own tolerance; smaller differences are solver noise (and the covariance route of
# _difference_se rounds at ~1e-8 on replicates of a few tenths of a logit, far below it)
SE_FLOOR = 1e-6
TIE_GRID = 1e-6  # logits: replicate values this close are a tie for p_top1 / p_top5
MIN_ROUNDS = 20  # fewer replicates cannot set a 95% max-t quantile
RANK_COLUMNS: tuple[str, ...] = ("rank_lower", "rank_upper", "p_top1", "p_top5", "tier")
_CHUNK_NUMBERS = 4_000_000  # replicate × pair numbers held at once when a maximum is recomputed


@dataclass(frozen=True)
class RankSets:
    """The simultaneous rank analysis of one board (one component): per model and per pair."""

    theta_hat: np.ndarray  # m, the fit's estimates (logits)
    se: np.ndarray  # m × m bootstrap standard error of θ_k − θ_l (floored; symmetric)
    tstat: np.ndarray  # m × m (θ̂_k − θ̂_l) / se (antisymmetric)
    above: np.ndarray  # m × m bool: the claim θ_k > θ_l is made
    critical: tuple[float, ...]  # the max-t critical value of each step (the last decided nothing)
    rank_lower: np.ndarray
    rank_upper: np.ndarray
    p_top1: np.ndarray
    p_top5: np.ndarray
    tier: np.ndarray
    rounds: int

    @property
    def separable(self) -> np.ndarray:
        """m × m bool: the pair's order is claimed, one way or the other."""
        return self.above | self.above.T

    @property
    def last_critical(self) -> float:
        """The critical value the pairs left undecided were last tested against."""
        return self.critical[-1]

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in RANK_COLUMNS}


def rank_sets(thetas: np.ndarray, theta_hat: np.ndarray, level: float = LEVEL) -> RankSets:
    """The rank analysis of one board from its `thetas` (rounds × m bootstrap replicates) and the fit's
    `theta_hat` (m). Replicates may pin one model (a column of zeros): only differences are used."""
    thetas = np.asarray(thetas, dtype=float)
    theta_hat = np.asarray(theta_hat, dtype=float)
    if thetas.ndim != 2 or thetas.shape[1] != len(theta_hat):
        raise ValueError(f"replicates of shape {thetas.shape} do not match {len(theta_hat)} estimates")
    if thetas.shape[0] < MIN_ROUNDS:
        raise ValueError(f"{thetas.shape[0]} bootstrap replicates: at least {MIN_ROUNDS} are needed")
    if not (np.isfinite(thetas).all() and np.isfinite(theta_hat).all()):
        raise ValueError("bootstrap replicates or estimates that are not finite")
    if not 0.5 < level < 1:
        raise ValueError(f"level {level} outside (0.5, 1)")
    m = len(theta_hat)
    diff_hat = theta_hat[:, None] - theta_hat[None, :]
    se = _difference_se(thetas)
    tstat = diff_hat / se
    above, critical = _stepdown(thetas - theta_hat, se, tstat, level)
    lower = 1 + above.sum(axis=0)  # models claimed above j
    upper = m - above.sum(axis=1)  # minus models j is claimed above
    p_top1, p_top5 = top_shares(thetas, 1), top_shares(thetas, TOP_FIVE)
    return RankSets(
        theta_hat=theta_hat,
        se=se,
        tstat=tstat,
        above=above,
        critical=tuple(critical),
        rank_lower=lower.astype(np.int64),
        rank_upper=upper.astype(np.int64),
        p_top1=p_top1,
        p_top5=p_top5,
        tier=tiers(theta_hat, above | above.T),
        rounds=thetas.shape[0],
    )


def _difference_se(thetas: np.ndarray) -> np.ndarray:
    """The bootstrap sd of every θ_k − θ_l, from the replicates' covariance, floored at SE_FLOOR."""
    cov = np.atleast_2d(np.cov(thetas, rowvar=False))
    var = np.diag(cov)[:, None] + np.diag(cov)[None, :] - 2 * cov
    return np.maximum(np.sqrt(np.clip(var, 0.0, None)), SE_FLOOR)


def _stepdown(
    deviation: np.ndarray, se: np.ndarray, tstat: np.ndarray, level: float
) -> tuple[np.ndarray, list[float]]:
    """(claims made, critical value per step). `deviation`: replicates minus the estimate (rounds × m).

    Each replicate's maximum of Z* over the open claims is kept with the claim that attains it; after a
    step only the replicates whose maximising claim was just made are recomputed (the maximum over a
    smaller set can only come down, and is unchanged where its argument survived)."""
    m = se.shape[0]
    open_claims = ~np.eye(m, dtype=bool)
    above = np.zeros((m, m), dtype=bool)
    maxima, where = _maxima(deviation, se, open_claims)
    critical: list[float] = []
    while True:
        c = float(np.quantile(maxima, level, method="higher")) if len(maxima) else np.inf
        critical.append(c)
        new = open_claims & (tstat > c)
        if not new.any():
            return above, critical
        above |= new
        open_claims &= ~new
        stale = np.flatnonzero(new.ravel()[where])
        if not open_claims.any():
            critical.append(-np.inf)  # nothing left to test
            return above, critical
        maxima[stale], where[stale] = _maxima(deviation[stale], se, open_claims)


def _maxima(deviation: np.ndarray, se: np.ndarray, open_claims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per replicate: max over open claims (k, l) of (dev_k − dev_l) / se_kl, and its flat index k·m + l."""
    rounds, m = deviation.shape
    maxima, where = np.empty(rounds), np.zeros(rounds, dtype=np.int64)
    if m < 2 or not open_claims.any():
        maxima.fill(-np.inf)
        return maxima, where
    closed = ~open_claims.ravel()
    step = max(1, _CHUNK_NUMBERS // (m * m))
    for start in range(0, rounds, step):
        d = deviation[start : start + step]
        z = ((d[:, :, None] - d[:, None, :]) / se).reshape(len(d), m * m)
        z[:, closed] = -np.inf
        where[start : start + step] = z.argmax(axis=1)
        maxima[start : start + step] = z[np.arange(len(d)), where[start : start + step]]
    return maxima, where


def top_shares(thetas: np.ndarray, k: int) -> np.ndarray:
    """Per model: the share of replicates in which it is among the first `k` (ties share the places they
    straddle equally, so the shares sum to min(k, m))."""
    snapped = np.round(np.asarray(thetas, dtype=float) / TIE_GRID)
    rounds, m = snapped.shape
    credit = np.zeros(m)
    for row in snapped:
        ordered = np.sort(row)
        above = m - np.searchsorted(ordered, row, side="right")  # strictly greater
        tied = np.searchsorted(ordered, row, side="right") - np.searchsorted(ordered, row, side="left")
        credit += np.clip((k - above) / tied, 0.0, 1.0)
    return credit / rounds


def tiers(theta_hat: np.ndarray, separable: np.ndarray) -> np.ndarray:
    """Tier per model (1 best): in order of estimate (ties by index), a new tier starts at the first model
    separable from any model of the current tier."""
    order = np.lexsort((np.arange(len(theta_hat)), -np.asarray(theta_hat, dtype=float)))
    tier = np.zeros(len(theta_hat), dtype=np.int64)
    current: list[int] = []
    number = 0
    for j in order:
        if not current or separable[j, current].any():
            number, current = number + 1, []
        current.append(j)
        tier[j] = number
    return tier


def rank_columns(
    thetas: np.ndarray, theta_hat: np.ndarray, groups: np.ndarray | None = None
) -> tuple[pd.DataFrame, dict[object, RankSets]]:
    """The rank columns of a board's rows (in the order of `theta_hat`), each group (a component: its
    own scale) analysed on its own. Returns (frame with RANK_COLUMNS, RankSets per group)."""
    theta_hat = np.asarray(theta_hat, dtype=float)
    groups = np.zeros(len(theta_hat), dtype=np.int64) if groups is None else np.asarray(groups)
    frame = pd.DataFrame(
        {
            "rank_lower": pd.array([pd.NA] * len(theta_hat), dtype="Int64"),
            "rank_upper": pd.array([pd.NA] * len(theta_hat), dtype="Int64"),
            "p_top1": np.nan,
            "p_top5": np.nan,
            "tier": pd.array([pd.NA] * len(theta_hat), dtype="Int64"),
        }
    )
    sets: dict[object, RankSets] = {}
    for group in pd.unique(groups):
        rows = np.flatnonzero(groups == group)
        sets[group] = result = rank_sets(np.asarray(thetas)[:, rows], theta_hat[rows])
        for name, values in result.columns().items():
            frame.loc[rows, name] = values
    return frame, sets
