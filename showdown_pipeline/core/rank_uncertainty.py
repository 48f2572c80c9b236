"""Honest rank uncertainty from a board's bootstrap replicates or its sandwich covariance (issue 16, DESIGN §6):
simultaneous 95% rank intervals, the chance of being first or in the top five, and tiers.

**Rank intervals** (`rank_lower`, `rank_upper`) are the simultaneous confidence set for all ranks of
Mogstad, Romano, Shaikh & Wilhelm, "Inference for Ranks with Applications to Mobility across
Neighbourhoods and Academic Achievement across Countries", Review of Economic Studies 91(1), 2024
(doi:10.1093/restud/rdad006), in its stepwise form, with the bootstrap replicates of the fit (or, for a
board without them, normal draws from its sandwich covariance) standing in for their parametric draws.
The rank of model j is r_j = 1 + #{k : θ_k > θ_j} (1 is best; equal strengths share the better rank).
The family of claims is "θ_k > θ_l" for every ordered pair (k, l). With D = θ_k − θ_l, its estimate D̂
and its standard error s, a step takes the critical value c of the board's statistic max (D̂_kl − D_kl)
/ s_kl over the claims not yet made (max-t) and makes every claim with D̂_kl / s_kl > c; the steps repeat
on the remaining claims until none is added (Romano & Wolf, "Exact and Approximate Stepdown Methods for
Multiple Hypothesis Testing", JASA 100(469), 2005). With probability ≥ 95% no claim is false, and then
every true rank lies in its interval at once:

    rank_lower_j = 1 + #{k : θ_k > θ_j claimed}      rank_upper_j = m − #{k : θ_j > θ_k claimed}

(m models). Each interval holds the model's rank by point estimate.

**The critical value, and why it is studentised leave-one-out.** The board's own statistic divides the
estimate's error by an s estimated from the B replicates, an error independent of them. The plain
bootstrap-t divides each replicate's deviation D*_kl − D̂_kl by the sd of all B replicates, its own
included: a replicate far out inflates its own denominator (one 3.3 sd out is 3.3²/200 ≈ 5% of the
variance of 200), so the replicates' maxima run small, and so does their 95% quantile. Measured
(`bench/bench_rank_coverage.py`, README "Measured"): at B = 200, the segment boards' default, all true
ranks were covered in only 0.925 of the all-equal worlds, the least favourable case, where any claim is
false. Here replicate b is studentised by the sd of every difference over the other B − 1 replicates
(S₋b = ((B − 1)S − B/(B − 1)·g²)/(B − 2), g its own deviation from the replicates' mean, one m × m pass
per replicate, as before), so that its maximum, like the board's, sets a deviation against an sd it
did not help to estimate; under the bootstrap's premise (a replicate's deviation from θ̂ behaves like
θ̂'s from θ) the B + 1 maxima are then exchangeable up to one replicate in the sd, and the
⌈0.95 (B + 1)⌉-th smallest of the B replicate maxima (`critical_value`) is exceeded by the board's
with probability ≤ 5% for any B — a finite-sample quantile, never interpolated down. This is what fixes
B = 200 at no extra cost. Considered and not chosen: (a) a critical value from many multivariate-normal
draws with the bootstrap covariance and that same s — it removes the quantile's Monte-Carlo noise but
not the noise of s, which the board's statistic carries (its maxima are standardised exactly); (b) the
same with one common χ²_{B−1} scale per draw (a multivariate t) — still too small, as the board's s
differs pair by pair; (c) Wishart draws of the whole covariance per Monte-Carlo draw — exact under
normality but m³ per draw on ~400 segment boards a night; (d) B = 1000 for every segment board — five
times the bootstrap fits, minutes a night.

Boards without bootstrap replicates (the style-controlled boards, overall and per segment, and any
board run with 0 rounds) draw `NORMAL_DRAWS` vectors θ̂ + N(0, Σ) from the fit's sandwich covariance Σ
(`rank_sets_normal`, seeded): s is then Σ's own, known rather than estimated, each draw's maximum is
exchangeable with the board's under the normal approximation the published sandwich interval already
rests on, and the same order statistic is the critical value. p_top1 / p_top5 are shares of those draws.
Every row names its source in `rank_method`. (The simpler construction of Klein, Wright & Wieczorek,
"A joint confidence region for an overall ranking of populations", JRSS C 69(3), 2020 — ranks from
overlaps of simultaneous intervals for each θ — is valid too but wider; it is not used.)

Conventions, each chosen so that nothing is claimed that the replicates do not show:
- The differences' standard errors are floored at `SE_FLOOR` (1e-6 logits, the bootstrap's convergence
  tolerance): a difference the replicates never move (e.g. two models with only ties against each other)
  is never called separated by dividing noise by noise.
- The critical value is an order statistic (never interpolated down).
- Fewer than `MIN_ROUNDS` replicates set no critical value (boards.py then uses the sandwich draws).

**p_top1, p_top5**: the share of replicates (or normal draws) in which the model is first / in the top five of its board
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
# _difference_var rounds at ~1e-8 on replicates of a few tenths of a logit, far below it)
SE_FLOOR = 1e-6
TIE_GRID = 1e-6  # logits: replicate values this close are a tie for p_top1 / p_top5
MIN_ROUNDS = 20  # fewer replicates cannot set a 95% max-t quantile (⌈0.95 (n + 1)⌉ ≤ n needs n ≥ 19)
# normal draws of a board without bootstrap replicates: its critical values are order statistics of these
# (exact for any number; more only steadies them) and its p_top1/p_top5 shares (sd ≤ 1/(2√1000) ≈ 0.016)
NORMAL_DRAWS = 1000
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
    rounds: int  # draws the analysis rests on (bootstrap replicates or normal draws)
    method: str  # how: the rows' rank_method

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
    `theta_hat` (m). Replicates may pin one model (a column of zeros): only differences are used. The
    max-t statistic of each replicate is studentised leave-one-out (module docstring)."""
    thetas, theta_hat = _checked(thetas, theta_hat, level)
    if thetas.shape[0] < MIN_ROUNDS:
        raise ValueError(f"{thetas.shape[0]} bootstrap replicates: at least {MIN_ROUNDS} are needed")
    var = _difference_var(np.cov(thetas, rowvar=False))
    draws = _Draws(thetas - theta_hat, thetas - thetas.mean(axis=0), var, len(thetas))
    method = f"max-t stepdown over {len(thetas)} bootstrap replicates, studentised leave-one-out"
    return _analyse(thetas, theta_hat, var, draws, level, method)


def rank_sets_normal(
    cov: np.ndarray, theta_hat: np.ndarray, level: float = LEVEL, seed: int = 0, draws: int = NORMAL_DRAWS
) -> RankSets:
    """The rank analysis of a board without bootstrap replicates, from the normal approximation of its fit:
    `draws` vectors θ̂ + N(0, `cov`) (the fit's sandwich covariance, m × m; a pinned model's zero row is
    fine), seeded by `seed`. The standard errors are the covariance's own (nothing to studentise)."""
    cov = np.asarray(cov, dtype=float)
    theta_hat = np.asarray(theta_hat, dtype=float)
    if cov.shape != (len(theta_hat), len(theta_hat)) or not np.isfinite(cov).all():
        raise ValueError(f"a covariance of shape {cov.shape} (or not finite) for {len(theta_hat)} estimates")
    values, vectors = np.linalg.eigh((cov + cov.T) / 2)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    noise = np.random.default_rng([seed, 16, 1]).standard_normal((draws, len(theta_hat))) @ root.T
    thetas, theta_hat = _checked(theta_hat + noise, theta_hat, level)
    var = _difference_var(cov)
    method = f"max-t stepdown over {draws} normal draws from the fit's sandwich covariance (seed {seed})"
    return _analyse(thetas, theta_hat, var, _Draws(noise, None, var, draws), level, method)


def _checked(thetas, theta_hat, level: float) -> tuple[np.ndarray, np.ndarray]:
    thetas = np.asarray(thetas, dtype=float)
    theta_hat = np.asarray(theta_hat, dtype=float)
    if thetas.ndim != 2 or thetas.shape[1] != len(theta_hat):
        raise ValueError(f"replicates of shape {thetas.shape} do not match {len(theta_hat)} estimates")
    if not (np.isfinite(thetas).all() and np.isfinite(theta_hat).all()):
        raise ValueError("bootstrap replicates or estimates that are not finite")
    if not 0.5 < level < 1:
        raise ValueError(f"level {level} outside (0.5, 1)")
    return thetas, theta_hat


def _analyse(
    thetas: np.ndarray, theta_hat: np.ndarray, var: np.ndarray, draws: _Draws, level: float, method: str
) -> RankSets:
    """Claims, intervals, shares and tiers of one board from its draws (bootstrap or normal)."""
    m = len(theta_hat)
    se = np.maximum(np.sqrt(var), SE_FLOOR)
    tstat = (theta_hat[:, None] - theta_hat[None, :]) / se
    above, critical = _stepdown(draws, se, tstat, level)
    lower = 1 + above.sum(axis=0)  # models claimed above j
    upper = m - above.sum(axis=1)  # minus models j is claimed above
    return RankSets(
        theta_hat=theta_hat,
        se=se,
        tstat=tstat,
        above=above,
        critical=tuple(critical),
        rank_lower=lower.astype(np.int64),
        rank_upper=upper.astype(np.int64),
        p_top1=top_shares(thetas, 1),
        p_top5=top_shares(thetas, TOP_FIVE),
        tier=tiers(theta_hat, above | above.T),
        rounds=thetas.shape[0],
        method=method,
    )


def _difference_var(cov: np.ndarray) -> np.ndarray:
    """m × m variance of every θ_k − θ_l from the covariance of θ (≥ 0)."""
    cov = np.atleast_2d(cov)
    return np.clip(np.diag(cov)[:, None] + np.diag(cov)[None, :] - 2 * cov, 0.0, None)


@dataclass(frozen=True)
class _Draws:
    """What the critical values are computed from: per draw, its deviation from the estimate (rounds × m)
    and, for bootstrap replicates, their deviation from the replicates' mean (for the leave-one-out
    variance; None: the standard errors are known, as for normal draws); `var` the m × m variance of the
    differences over all `n` draws."""

    deviation: np.ndarray
    centred: np.ndarray | None
    var: np.ndarray
    n: int

    def take(self, rows: np.ndarray) -> _Draws:
        centred = None if self.centred is None else self.centred[rows]
        return _Draws(self.deviation[rows], centred, self.var, self.n)

    def scale(self, start: int, stop: int, se: np.ndarray) -> np.ndarray:
        """The standard errors draws start…stop are studentised by: `se`, or each replicate's
        leave-one-out sd of every difference, S₋b = ((n − 1)S − n/(n − 1)·g²)/(n − 2), g its own gap."""
        if self.centred is None:
            return se
        n, c = self.n, self.centred[start:stop]
        gap = c[:, :, None] - c[:, None, :]
        loo = ((n - 1) * self.var - n / (n - 1) * gap**2) / (n - 2)
        return np.maximum(np.sqrt(np.clip(loo, 0.0, None)), SE_FLOOR)


def critical_value(maxima: np.ndarray, level: float) -> float:
    """The ⌈level·(n + 1)⌉-th smallest of n draws of the maximum: exchangeable with the board's own
    statistic, it is exceeded by it with probability ≤ 1 − level for any n (+∞ when n is too small)."""
    k = int(np.ceil(level * (len(maxima) + 1) - 1e-9))
    return float(np.sort(maxima)[k - 1]) if k <= len(maxima) else np.inf


def _stepdown(
    draws: _Draws, se: np.ndarray, tstat: np.ndarray, level: float
) -> tuple[np.ndarray, list[float]]:
    """(claims made, critical value per step).

    Each draw's maximum of Z* over the open claims is kept with the claim that attains it; after a step
    only the draws whose maximising claim was just made are recomputed (the maximum over a smaller set can
    only come down, and is unchanged where its argument survived)."""
    m = se.shape[0]
    open_claims = ~np.eye(m, dtype=bool)
    above = np.zeros((m, m), dtype=bool)
    maxima, where = _maxima(draws, se, open_claims)
    critical: list[float] = []
    while True:
        c = critical_value(maxima, level) if len(maxima) else np.inf
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
        maxima[stale], where[stale] = _maxima(draws.take(stale), se, open_claims)


def _maxima(draws: _Draws, se: np.ndarray, open_claims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per draw: max over open claims (k, l) of (dev_k − dev_l) / se_kl (se of the draw: `_Draws.scale`),
    and its flat index k·m + l."""
    rounds, m = draws.deviation.shape
    maxima, where = np.empty(rounds), np.zeros(rounds, dtype=np.int64)
    if m < 2 or not open_claims.any():
        maxima.fill(-np.inf)
        return maxima, where
    closed = ~open_claims.ravel()
    step = max(1, _CHUNK_NUMBERS // (m * m))
    for start in range(0, rounds, step):
        stop = min(start + step, rounds)
        d = draws.deviation[start:stop]
        z = ((d[:, :, None] - d[:, None, :]) / draws.scale(start, stop, se)).reshape(len(d), m * m)
        z[:, closed] = -np.inf
        where[start:stop] = z.argmax(axis=1)
        maxima[start:stop] = z[np.arange(len(d)), where[start:stop]]
    return maxima, where


def top_shares(thetas: np.ndarray, k: int) -> np.ndarray:
    """Per model: the share of replicates in which it is among the first `k` (ties share the places they
    straddle equally, so the shares sum to min(k, m))."""
    snapped = np.round(np.asarray(thetas, dtype=float) / TIE_GRID)
    rounds, m = snapped.shape
    credit = np.zeros(m)
    step = max(1, _CHUNK_NUMBERS // max(1, m * m))
    for start in range(0, rounds, step):
        rows = snapped[start : start + step]
        above = (rows[:, None, :] > rows[:, :, None]).sum(axis=2)  # per model: strictly greater ones
        tied = (rows[:, None, :] == rows[:, :, None]).sum(axis=2)  # itself included
        credit += np.clip((k - above) / tied, 0.0, 1.0).sum(axis=0)
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
    thetas: np.ndarray | None,
    theta_hat: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    cov: np.ndarray | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[object, RankSets]]:
    """The rank columns of a board's rows (in the order of `theta_hat`), each group (a component: its
    own scale) analysed on its own: from the bootstrap replicates `thetas` (rounds × m), or, when they are
    None, from normal draws with the fit's covariance `cov` (m × m; group g draws from seed + g's position).
    Returns (frame with RANK_COLUMNS and rank_method, RankSets per group)."""
    theta_hat = np.asarray(theta_hat, dtype=float)
    if (thetas is None) == (cov is None):
        raise ValueError("rank columns need either bootstrap replicates or a covariance, not both")
    groups = np.zeros(len(theta_hat), dtype=np.int64) if groups is None else np.asarray(groups)
    frame = pd.DataFrame(
        {
            "rank_lower": pd.array([pd.NA] * len(theta_hat), dtype="Int64"),
            "rank_upper": pd.array([pd.NA] * len(theta_hat), dtype="Int64"),
            "p_top1": np.nan,
            "p_top5": np.nan,
            "tier": pd.array([pd.NA] * len(theta_hat), dtype="Int64"),
            "rank_method": None,
        }
    )
    sets: dict[object, RankSets] = {}
    for position, group in enumerate(pd.unique(groups)):
        rows = np.flatnonzero(groups == group)
        if thetas is not None:
            result = rank_sets(np.asarray(thetas)[:, rows], theta_hat[rows])
        else:
            result = rank_sets_normal(
                np.asarray(cov)[np.ix_(rows, rows)], theta_hat[rows], seed=seed + position
            )
        sets[group] = result
        for name, values in result.columns().items():
            frame.loc[rows, name] = values
        frame.loc[rows, "rank_method"] = result.method
    return frame, sets
