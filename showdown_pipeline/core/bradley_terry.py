"""Bradley-Terry ratings on aggregated pairwise counts (DESIGN §3).

The model: P(left beats right) = σ(θ_left − θ_right). A left win scores 1, a right win 0 and a tie of
either kind ½ (the LMArena convention). Votes are never looped over: the input is one row per
distinct (left, right, score) cell with its count, aggregated in SQL, so the fit costs the same for
ten thousand or ten million votes.

One model, the anchor, is pinned at θ = 0; a rating is `anchor_rating + (400 / ln 10) · θ`.
The 95% closed-form interval is the sandwich (robust) one: Cov = H⁻¹ J H⁻¹ with H the Fisher
information and J the sum of squared scores over votes. Intervals are for each model's rating
relative to the mean of the board (a contrast that does not depend on the choice of anchor), placed
around the anchored rating.

One solver serves every fit: `PairModel` (the likelihood of paired outcomes, with style features or
without; its `information` is the one Gram helper), `Penalty` (every quadratic penalty: ridge, a
segment's pull towards the overall board, the prior), `penalised_newton` (Newton's method with one
backtracking line search on the concave objective) and `sandwich` (H⁻¹ M H⁻¹ over the free
parameters). The plain, shrunk and style fits and a bootstrap replicate refitted alone are thin
callers. A fallback (least squares for a singular Newton system, a pseudo-inverse for an information
matrix that is not positive definite, non-convergence, the prior bounding a one-sided model) is
recorded in the fit's notes, and from there in the board's.

Ties and the uncertainty. A tie scores ½, the expectation of a win decided by a fair coin, so the
plain sandwich and bootstrap see no noise in it at all: three ties between two models gave a 95%
interval of zero width, and a model that only tied was published as the best measured one on its board.
So a tie is not allowed to look more certain than the board's typical vote: in each pair, the ties in
excess of the board's tie share count as fair coins (`tie_coin_share`): a coin adds y(1 − y) = ¼ to the
tie's squared residual in the sandwich's meat (`score_variance`), and the bootstrap resamples such ties
as wins and losses of half their count each (`resampling_cells`: the vote, then its coin, by Poisson
thinning). A pair that ties no more than the board is unchanged, so on boards whose pairs tie alike the
intervals are those of the plain estimator; the board's tie share counts one decisive pseudo-vote, so a
board of nothing but ties still has noise. The fit is unchanged (½ win + ½ loss is the same likelihood).

The published boards add one weak prior, λ/2 · Σ(θ − θ̄)² (RATING_PRIOR_PRECISION), to the fit, the
sandwich and every bootstrap replicate alike; with λ = 0 (the default of `fit_bradley_terry`) the fit is
plain maximum likelihood, which is what the golden and independent-fit tests check.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

ELO_SCALE = 400.0 / math.log(10.0)
Z_95 = 1.959963984540054
# When the maximum-likelihood estimate does not exist (the win graph is not strongly connected, e.g.
# a model that never wins), this ridge keeps the plain fit finite; the result says so. Published boards
# do not use it: they use RATING_PRIOR_PRECISION, always and in every bootstrap replicate.
FALLBACK_RIDGE = 1e-3
# The published boards' prior: a Gaussian on the ratings relative to their board's mean,
# λ/2 · Σ(θ − θ̄)², used alike by the fit, the sandwich and every bootstrap replicate, so the
# replicates resample the very estimator that is published. It does not depend on which model is
# pinned (it sees only contrasts). λ = 0.01 is a prior sd of 10 logits (1,737 Elo) on a model's
# distance from the mean: on the real boards it moves no rating by more than a few hundredths of an Elo
# (README "Ratings" gives the measurements), while a model that never loses (or never wins) in
# a sample stays within about ln(n/λ) logits of its opponents instead of running off to infinity.
RATING_PRIOR_PRECISION = 0.005


class RatingError(ValueError):
    """The ratings cannot be computed as asked (no votes, unknown anchor, ...)."""


@dataclass(frozen=True)
class PairCounts:
    """Aggregated outcomes: for each cell, `count` votes of `left` vs `right` that scored `score`; with
    `offset`, P(left wins) = σ(θ_left − θ_right + offset) per cell (a known term, e.g. the style effect of
    the cell's features under coefficients fitted elsewhere: the style segment boards)."""

    models: tuple[str, ...]
    left: np.ndarray  # int index into models
    right: np.ndarray
    score: np.ndarray  # 1, 0 or 0.5
    count: np.ndarray  # float weights (vote counts)
    offset: np.ndarray | None = None  # logits added to θ_left − θ_right per cell; None: 0

    def with_counts(self, count: np.ndarray) -> PairCounts:
        """The same cells (and offsets) with other counts: a fold, a resample."""
        return dataclasses.replace(self, count=np.asarray(count, dtype=float))

    def counted(self, count: np.ndarray) -> PairCounts:
        """The cells that `count` gives a positive count, with it (same models, same order): a fold without
        the cells it holds none of. A cell of count 0 adds nothing to a gradient or a Hessian, so a fit on
        it is the fit on the cells it has; on single-vote style rows a fold holds a third of them."""
        count = np.asarray(count, dtype=float)
        keep = count > 0
        return dataclasses.replace(
            self,
            left=self.left[keep],
            right=self.right[keep],
            score=self.score[keep],
            count=count[keep],
            offset=None if self.offset is None else self.offset[keep],
        )

    @classmethod
    def from_cells(cls, left: list[str], right: list[str], score, count) -> PairCounts:
        models = tuple(sorted(set(left) | set(right)))
        index = {m: i for i, m in enumerate(models)}
        return cls(
            models=models,
            left=np.array([index[m] for m in left], dtype=np.int64),
            right=np.array([index[m] for m in right], dtype=np.int64),
            score=np.asarray(score, dtype=float),
            count=np.asarray(count, dtype=float),
        )

    @property
    def n_models(self) -> int:
        return len(self.models)

    def subset(self, keep: list[str]) -> PairCounts:
        """Only the cells whose both models are in `keep`, re-indexed."""
        keep_set = set(keep)
        names = np.array(self.models, dtype=object)
        mask = np.array(
            [
                names[i] in keep_set and names[j] in keep_set
                for i, j in zip(self.left, self.right, strict=True)
            ],
            dtype=bool,
        )
        sub = PairCounts.from_cells(
            list(names[self.left[mask]]), list(names[self.right[mask]]), self.score[mask], self.count[mask]
        )
        return sub if self.offset is None else dataclasses.replace(sub, offset=self.offset[mask])


@dataclass
class BTFit:
    models: tuple[str, ...]
    anchor: str
    theta: np.ndarray  # logit scale, anchor at 0
    cov: np.ndarray  # sandwich covariance of theta (anchor row/col zero)
    converged: bool
    iterations: int
    log_likelihood: float
    mle_exists: bool
    ridge: float
    notes: list[str] = field(default_factory=list)
    prior_precision: float = 0.0  # λ of the prior λ/2 · Σ(θ − θ̄)²; 0: plain maximum likelihood

    def ratings(self, anchor_rating: float) -> np.ndarray:
        return anchor_rating + ELO_SCALE * self.theta

    def centred_se(self) -> np.ndarray:
        return centred_se(self.cov)

    def intervals(self, anchor_rating: float) -> tuple[np.ndarray, np.ndarray]:
        se = self.centred_se()
        rating = self.ratings(anchor_rating)
        return rating - Z_95 * ELO_SCALE * se, rating + Z_95 * ELO_SCALE * se


def components(counts: PairCounts) -> list[list[str]]:
    """Connected components of the comparison graph (models linked by at least one vote)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = counts.n_models
    graph = coo_matrix((np.ones(len(counts.left)), (counts.left, counts.right)), shape=(m, m))
    n, labels = connected_components(graph, directed=False)
    groups = [[counts.models[i] for i in np.flatnonzero(labels == k)] for k in range(n)]
    return sorted(groups, key=lambda g: (-len(g), g))


def mle_exists(counts: PairCounts) -> bool:
    """True when every model both beats and loses to the rest, transitively (Zermelo/Ford condition):
    the directed graph with an edge i→j whenever i scored against j is strongly connected."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = counts.n_models
    if m < 2:
        return False
    won_left = counts.score > 0  # left scored against right
    won_right = counts.score < 1
    rows = np.concatenate([counts.left[won_left], counts.right[won_right]])
    cols = np.concatenate([counts.right[won_left], counts.left[won_right]])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(m, m))
    n, _ = connected_components(graph, directed=True, connection="strong")
    return n == 1


def prior_description(precision: float) -> dict:
    """What the manifest says about the ratings' prior (never a silent fallback)."""
    if precision <= 0:
        return {"kind": "none: plain maximum likelihood", "precision": 0.0}
    return {
        "kind": "Gaussian on each rating's distance from its board's mean: lambda/2 * sum (theta - mean theta)^2",
        "precision": precision,
        "sd_logit": 1.0 / math.sqrt(precision),
        "sd_elo": ELO_SCALE / math.sqrt(precision),
        "used_by": "the fit, the sandwich and clustered sandwich (in H), every bootstrap replicate",
        "always_on": True,
        "why": "keeps a model that never loses or never wins (in the data or in a bootstrap replicate) "
        "finite, the same way in the published fit and its replicates; blind to which model is pinned",
    }


def centring_precision(m: int, precision: float) -> np.ndarray:
    """The m×m precision matrix of the prior λ/2 · Σ(θ − θ̄)² = λ/2 · θᵀ(I − 11ᵀ/m)θ: blind to a common
    shift, so to which model is pinned; positive definite on the free parameters once one is pinned."""
    return precision * (np.eye(m) - 1.0 / m)


def centred_se(cov: np.ndarray) -> np.ndarray:
    """Standard error of each θ_i − mean(θ) from a covariance with the anchor pinned: invariant to
    which model is pinned, so the anchor gets an honest interval too (pinning gives it zero width)."""
    m = cov.shape[0]
    centre = np.eye(m) - 1.0 / m
    return np.sqrt(np.clip(np.diag(centre @ cov @ centre), 0.0, None))


def rank_by_intervals(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Rank = 1 + the number of models whose lower bound is above this model's upper bound."""
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    return 1 + (lower[None, :] > upper[:, None]).sum(axis=1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _loglik(d: np.ndarray, p: np.ndarray, y: np.ndarray, w: np.ndarray | float) -> float:
    """Σ w·[y·log σ(d) + (1−y)·log σ(−d)] = Σ w·[y·d − log(1 + e^d)], for scores y in [0, 1], given
    p = σ(d). log(1 + e^d) = max(d, 0) − log σ(|d|), and σ(|d|) is p or 1 − p, in [½, 1] where a log is
    accurate to 1e-16 absolute: one log per row on top of the sigmoid already paid for, where
    np.logaddexp took an exp and a log1p and was four fifths of the fits' passes over the rows. Summed by
    numpy, never by a BLAS dot product: at ten million rows the line search's decisions turn on the sum's
    last bits, and OpenBLAS's dot gives other bits on other CPU kernels (the ratings would then differ by
    machine; test_the_log_likelihood_has_the_same_bits_on_every_cpu_kernel)."""
    terms = np.log(np.where(d > 0.0, p, 1.0 - p))  # −log(1 + e^d) + max(d, 0), built in place
    terms -= np.maximum(d, 0.0)
    terms += y * d
    terms *= w
    return float(terms.sum())  # numpy's pairwise sum: BLAS's dot rounds differently per CPU kernel


def tie_coin_share(m: int, pair: np.ndarray, score: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """Per row: the share of its ties counted as fair coins (0 for a decisive row).

    A pair (either order) whose tie share t exceeds the board's, t̄ = ties / (votes + 1), counts the excess
    as coins: share 1 − t̄/t, so its ties carry no less noise than the board's typical vote. The + 1 is one
    decisive pseudo-vote: a board of nothing but ties is not certain (three ties: t̄ = ¾, a quarter of
    them are coins). Rows are cells (`pair` = left·m + right, `weight` votes) or single votes (None)."""
    tie = (score > 0.0) & (score < 1.0)
    if not tie.any():
        return np.zeros(len(score))
    w = np.ones(len(score)) if weight is None else np.asarray(weight, dtype=float)
    left, right = pair // m, pair % m
    unordered = np.minimum(left, right) * m + np.maximum(left, right)
    votes = np.bincount(unordered, w, m * m)
    ties = np.bincount(unordered, w * tie, m * m)
    board = ties.sum() / (votes.sum() + 1.0)
    share = np.zeros(m * m)
    tied = ties > 0
    share[tied] = np.clip(1.0 - board * votes[tied] / ties[tied], 0.0, 1.0)
    return np.where(tie, share[unordered], 0.0)


def score_variance(score: np.ndarray, p: np.ndarray, coin: np.ndarray | float = 0.0) -> np.ndarray:
    """E[(Y − p)²] of a vote scoring `score` whose tie is, with probability `coin`, a fair coin (a win
    drawn with probability ½): (score − p)² + coin·score·(1 − score). Decisive votes: (y − p)²."""
    return (score - p) ** 2 + coin * score * (1.0 - score)


def resampling_cells(counts: PairCounts) -> PairCounts:
    """The cells the bootstrap draws from: a decisive cell as it is; a cell of c ties of which the share π
    are coins (`tie_coin_share`) as c·(1 − π) ties, c·π·y wins and c·π·(1 − y) losses. The likelihood
    is the same (y·log p + (1 − y)·log(1 − p) per vote), so is the fit; Poisson draws of the parts are
    the votes resampled and the coins tossed (Poisson thinning). Counts without coins come back unchanged."""
    m = counts.n_models
    coin = tie_coin_share(m, counts.left * m + counts.right, counts.score, counts.count)
    split = coin > 0.0
    if not split.any():
        return counts
    keep, y, c, share = ~split, counts.score[split], counts.count[split], coin[split]
    parts = [
        (counts.left[keep], counts.right[keep], counts.score[keep], counts.count[keep]),
        (counts.left[split], counts.right[split], y, c * (1.0 - share)),
        (counts.left[split], counts.right[split], np.ones_like(y), c * share * y),
        (counts.left[split], counts.right[split], np.zeros_like(y), c * share * (1.0 - y)),
    ]
    left, right, score, count = (np.concatenate(column) for column in zip(*parts, strict=True))
    drawn = count > 0
    return PairCounts(counts.models, left[drawn], right[drawn], score[drawn], count[drawn])


# ------------------------------------------------------------------------------------------------
# The one solver: a model of paired outcomes, a quadratic penalty, penalised Newton, the sandwich.
# Every fit below (plain, shrunk, style, a bootstrap replicate refitted alone) is a thin caller.


def _note(notes: list[str], text: str) -> None:
    """Record a fallback or a warning once: none is silent (BTFit/ShrunkFit/StyleFit.notes → board notes)."""
    if text not in notes:
        notes.append(text)


@dataclass
class PairModel:
    """P(left beats right) = σ(θ_left − θ_right + βᵀz) on rows of (left, right, score, weight, z): the
    parameters are x = (θ, β), the m ratings then one coefficient per feature (none for plain
    Bradley-Terry). Rows are aggregated cells or single votes; every pass over them is one gather, one
    sigmoid and a few bincounts into the m × m pair grid, never a Python object per row."""

    m: int
    pair: np.ndarray  # left · m + right, per row
    score: np.ndarray  # 1, ½ or 0
    weight: np.ndarray | None = None  # votes per row; None: one each
    features: np.ndarray | None = None  # k × rows, read in place (never copied or changed)
    offset: np.ndarray | None = None  # a known logit per row (PairCounts.offset); None: 0
    _buffer: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of_counts(cls, counts: PairCounts, weight: np.ndarray | None = None) -> PairModel:
        """The cells of `counts`, weighted by their counts (or by `weight`, e.g. a bootstrap draw)."""
        m = counts.n_models
        return cls(
            m,
            counts.left * m + counts.right,
            counts.score,
            counts.count if weight is None else weight,
            offset=counts.offset,
        )

    @property
    def k(self) -> int:
        return 0 if self.features is None else self.features.shape[0]

    def weighted(self, values: np.ndarray) -> np.ndarray:
        return values if self.weight is None else values * self.weight

    def evaluate(self, x: np.ndarray, with_value: bool = True) -> tuple[np.ndarray, float | None]:
        """(P(left wins) per row, the log-likelihood or None) at x."""
        theta = x[: self.m]
        d = (theta[:, None] - theta[None, :]).ravel()[self.pair]
        if self.offset is not None:
            d = d + self.offset
        if self.k:
            d += x[self.m :] @ self.features
        p = _sigmoid(d)
        value = _loglik(d, p, self.score, 1.0 if self.weight is None else self.weight) if with_value else None
        return p, value

    def gradient(self, p: np.ndarray) -> np.ndarray:
        """∂ log-likelihood / ∂x, given the probabilities at x."""
        r = self.weighted(self.score - p)
        parts = [_signed(self._grid(r))]
        if self.k:
            parts.append(self.features @ r)
        return np.concatenate(parts)

    def information(self, a: np.ndarray) -> np.ndarray:
        """Σ a · z zᵀ over rows, z = (e_left − e_right, features): the Fisher information
        (a = w·p(1−p)) or the sandwich's meat (a = w·(y−p)²). The one Gram helper."""
        m, k = self.m, self.k
        grid = self._grid(a)
        full = np.zeros((m + k, m + k))
        full[:m, :m] = np.diag(grid.sum(axis=1) + grid.sum(axis=0)) - grid - grid.T
        if k:
            if self._buffer is None or len(self._buffer) != len(a):
                self._buffer = np.empty(len(a))
            for j in range(k):
                np.multiply(self.features[j], a, out=self._buffer)
                full[m + j, :m] = _signed(self._grid(self._buffer))
                full[m + j, m + j :] = self.features[j:] @ self._buffer
            full[m:, m:] = np.triu(full[m:, m:]) + np.triu(full[m:, m:], 1).T
            full[:m, m:] = full[m:, :m].T
        return full

    def _grid(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.pair, values, self.m * self.m).reshape(self.m, self.m)


def _signed(grid: np.ndarray) -> np.ndarray:
    """Σ v·(e_left − e_right) from the m × m pair grid of v."""
    return grid.sum(axis=1) - grid.sum(axis=0)


@dataclass(frozen=True)
class Penalty:
    """½ Σ ridge_i (x_i − centre_i)² + λ/2 · Σ (θ_i − θ̄)² over the m ratings θ = x[:m] (λ = precision):
    the fallback ridge, a segment's pull towards the overall board, the ridge on style coefficients
    and the published boards' prior are all this one form. Its value and gradient are computed from
    the numbers, never as a product with an n × n matrix: such a product in every chord step of the
    bootstrap wakes the BLAS threads (measured: +25% CPU at 1M votes)."""

    m: int
    ridge: float | np.ndarray = 0.0
    centre: float | np.ndarray = 0.0
    precision: float = 0.0
    level: float = 0.0  # κ/2 · (Σ (θ_i − centre_i))²: see `level_pinned`

    def value(self, x: np.ndarray) -> float:
        ratings = x[: self.m] - x[: self.m].mean()
        shrink = float(np.sum(self.ridge * (x - self.centre) ** 2))
        level = float(np.sum(x[: self.m] - self._centre_of_ratings())) if self.level else 0.0
        return 0.5 * (shrink + self.precision * float(ratings @ ratings) + self.level * level**2)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """∂/∂x of the penalty, for one x or a batch of rows."""
        out = self.ridge * (x - self.centre)
        ratings = x[..., : self.m]
        out[..., : self.m] += self.precision * (ratings - ratings.mean(axis=-1, keepdims=True))
        if self.level:
            out[..., : self.m] += self.level * np.sum(
                ratings - self._centre_of_ratings(), axis=-1, keepdims=True
            )
        return out

    def hessian(self, n: int) -> np.ndarray:
        out = np.diag(np.broadcast_to(np.asarray(self.ridge, dtype=float), (n,)))
        out[: self.m, : self.m] += centring_precision(self.m, self.precision) + self.level
        return out

    def _centre_of_ratings(self) -> np.ndarray:
        centre = np.asarray(self.centre, dtype=float)
        return centre[: self.m] if centre.ndim else np.full(self.m, float(centre))

    def level_pinned(self, level: float = 1.0) -> Penalty:
        """This penalty plus κ/2 · (Σ (θ_i − centre_i))², for Newton's iterations only. With every θ free
        and a likelihood that does not change when all θ shift together, one ridge on every rating alone
        sets their level, and at the optimum Σ (θ_i − centre_i) = 0 exactly (the likelihood's gradient and
        the spread prior's sum to 0): the added term and its gradient vanish there, so the optimum is the
        same, and its curvature κ·m along the shift makes a tiny ridge's near-singular system well
        conditioned. Without it the unshrunk fit (ridge 1e-6, `boards.UNSHRUNK_PENALTY`) took 12-62
        Newton steps on 10M style rows, its level drifting by rounding, against 1-2. The sandwich keeps
        the penalty without it (its meat has no component along the shift: the covariance is the same).
        Only for one ridge (a number): with a ridge per rating the optimum's level condition differs."""
        if np.ndim(self.ridge) != 0 or not self.ridge > 0:
            raise ValueError("a pinned level needs one positive ridge on every rating")
        return dataclasses.replace(self, level=level)


@dataclass
class NewtonResult:
    x: np.ndarray
    p: np.ndarray  # the model's probabilities at x, for the sandwich
    objective: float  # penalised log-likelihood at x (NaN after full steps taken unchecked)
    converged: bool
    iterations: int
    loglik: float = math.nan  # the log-likelihood at x (NaN after full steps taken unchecked)


def penalised_newton(
    model: PairModel,
    penalty: Penalty,
    x0: np.ndarray,
    free: np.ndarray,
    notes: list[str],
    *,
    what: str,
    tol: float,
    max_iter: int,
    gain_tol: float | None = None,
    damped: int | None = None,
    at_start: tuple[np.ndarray, float] | None = None,
) -> NewtonResult:
    """Maximise log-likelihood − penalty over the `free` coordinates of x (the others keep x0's value)
    by Newton's method; the objective is concave. Each step is backtracked (halved until the objective
    does not fall); with `damped` = n only the first n, after which full steps are taken without the
    pass that computes the objective (the style fit over ten million rows: the accepted point's
    probabilities, computed once, serve the next step). Stops when a step moves no coordinate by
    `tol`, or (`gain_tol`) when the objective rises by less than gain_tol · max(1, |objective|).
    `at_start`: the model's (probabilities, log-likelihood) at x0 when already known (the previous fit's
    result on the same model: `shrunk_path`), saving the pass that computes them. Fallbacks (least squares
    for a singular system, non-convergence) are recorded in `notes`."""
    x = np.array(x0, dtype=float)
    p, loglik = model.evaluate(x) if at_start is None else at_start
    current = loglik - penalty.value(x)
    curvature = penalty.hessian(len(x))[np.ix_(free, free)]
    moved = math.inf
    for iteration in range(1, max_iter + 1):
        grad = model.gradient(p) - penalty.gradient(x)
        hess = model.information(model.weighted(p * (1 - p)))[np.ix_(free, free)] + curvature
        step = np.zeros_like(x)
        step[free] = _solve(hess, grad[free], notes, what)
        checked = damped is None or iteration <= damped
        x, p, value, t, loglik = _line_search(model, penalty, x, step, current if checked else None)
        if value < current - 1e-12:  # the halving ran out (NaN, a full step taken unchecked, is not less)
            _note(
                notes, f"{what}: the line search found no step that does not lower the objective (t < 1e-8)"
            )
        gain, current, moved = value - current, value, float(np.max(np.abs(t * step), initial=0.0))
        if moved < tol or (gain_tol is not None and abs(gain) < gain_tol * max(1.0, abs(current))):
            return NewtonResult(x, p, current, True, iteration, loglik)
    _note(
        notes,
        f"{what}: Newton's method did not converge in {max_iter} iterations (last step {moved:.1e} "
        "logits); the last iterate is used",
    )
    return NewtonResult(x, p, current, False, max_iter, loglik)


def _line_search(model: PairModel, penalty: Penalty, x: np.ndarray, step: np.ndarray, current: float | None):
    """(x + t·step, its probabilities, its objective, t, its log-likelihood) for the largest t in 1, ½, ¼ …
    that does not lower the objective (t stops halving below 1e-8). With `current` None the full step is
    taken and its objective and log-likelihood are not computed (NaN)."""
    t = 1.0
    while True:
        candidate = x + t * step
        p, loglik = model.evaluate(candidate, with_value=current is not None)
        if current is None:
            return candidate, p, math.nan, t, math.nan
        value = loglik - penalty.value(candidate)
        if value >= current - 1e-12 or t < 1e-8:
            return candidate, p, value, t, loglik
        t *= 0.5


def _solve(matrix: np.ndarray, rhs: np.ndarray, notes: list[str], what: str) -> np.ndarray:
    try:
        return np.linalg.solve(matrix, rhs)
    except np.linalg.LinAlgError:
        _note(notes, f"{what}: a Newton system was singular; solved by least squares (lstsq) instead")
        return np.linalg.lstsq(matrix, rhs, rcond=None)[0]


def _factor(matrix: np.ndarray, notes: list[str], what: str) -> tuple[str, object]:
    """A Cholesky factor of a positive-definite information matrix; its pseudo-inverse (recorded)
    when it is not positive definite."""
    from scipy.linalg import cho_factor

    try:
        return ("chol", cho_factor(matrix))
    except np.linalg.LinAlgError:
        _note(
            notes,
            f"{what}: the information matrix is not positive definite; its pseudo-inverse (pinv) is used",
        )
        return ("pinv", np.linalg.pinv(matrix))


def _apply_inverse(factor: tuple[str, object], rhs: np.ndarray) -> np.ndarray:
    from scipy.linalg import cho_solve

    kind, value = factor
    return cho_solve(value, rhs) if kind == "chol" else value @ rhs


def sandwich(
    information: np.ndarray, meat: np.ndarray, free: np.ndarray, notes: list[str], what: str
) -> np.ndarray:
    """H⁻¹ M H⁻¹ over the `free` parameters, embedded with zero rows and columns for the pinned ones:
    the robust covariance of a penalised M-estimator, H the information plus the penalty's curvature,
    M the sum over independent units of their squared scores."""
    return _sandwich_and_bread(information, meat, free, notes, what)[0]


def _sandwich_and_bread(
    information: np.ndarray, meat: np.ndarray, free: np.ndarray, notes: list[str], what: str
) -> tuple[np.ndarray, np.ndarray]:
    """(H⁻¹ M H⁻¹, H⁻¹), both embedded as in `sandwich`."""
    keep = np.ix_(free, free)
    h_inv = _apply_inverse(_factor(information[keep], notes, what), np.eye(int(np.sum(free))))
    cov, bread = np.zeros_like(information), np.zeros_like(information)
    cov[keep], bread[keep] = h_inv @ meat[keep] @ h_inv, h_inv
    return cov, bread


def _model_sandwich(
    model: PairModel, penalty: Penalty, p: np.ndarray, free: np.ndarray, notes: list[str], what: str
) -> tuple[np.ndarray, np.ndarray]:
    """The sandwich of a fit with rows as independent units (votes, or cells of identical votes); ties in
    excess of the board's tie share carry their coins' variance (`tie_coin_share`, `score_variance`).
    Returns (sandwich, bread H⁻¹)."""
    information = model.information(model.weighted(p * (1 - p))) + penalty.hessian(len(free))
    coin = tie_coin_share(model.m, model.pair, model.score, model.weight)
    meat = model.information(model.weighted(score_variance(model.score, p, coin)))
    return _sandwich_and_bread(information, meat, free, notes, what)


# ------------------------------------------------------------------------------------------------
# The plain (anchored) fit and its intervals.


def fit_bradley_terry(
    counts: PairCounts,
    anchor: str,
    ridge: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 200,
    *,
    prior_precision: float = 0.0,
) -> BTFit:
    """Bradley-Terry with `anchor` pinned at θ = 0: the maximum-likelihood fit, or with
    `prior_precision` λ > 0 the posterior mode under the prior λ/2 · Σ(θ − θ̄)² (the published boards
    use RATING_PRIOR_PRECISION), which exists for every connected comparison graph.

    `ridge` adds ridge/2 · Σθ² to the negative log-likelihood. By default it is 0 when the MLE exists
    or a prior is given, and FALLBACK_RIDGE otherwise (recorded in the result), so the ratings never
    diverge. The notes say what keeps the ratings finite when the MLE does not exist, and any fallback
    of the solver.
    """
    _check_fittable(counts, anchor)
    exists = mle_exists(counts)
    if ridge is None:
        ridge = 0.0 if exists or prior_precision > 0 else FALLBACK_RIDGE
    notes = _existence_notes(exists, ridge, prior_precision)
    m = counts.n_models
    free = np.arange(m) != counts.models.index(anchor)
    model, penalty = PairModel.of_counts(counts), Penalty(m, ridge=ridge, precision=prior_precision)
    fit = penalised_newton(
        model,
        penalty,
        np.zeros(m),
        free,
        notes,
        what="ratings fit",
        tol=tol,
        max_iter=max_iter,
        gain_tol=tol * 1e-3,
    )
    return BTFit(
        models=counts.models,
        anchor=anchor,
        theta=fit.x,
        cov=_model_sandwich(model, penalty, fit.p, free, notes, "ratings sandwich")[0],
        converged=fit.converged,
        iterations=fit.iterations,
        log_likelihood=fit.objective,
        mle_exists=exists,
        ridge=ridge,
        notes=notes,
        prior_precision=prior_precision,
    )


def _check_fittable(counts: PairCounts, anchor: str) -> None:
    if counts.n_models < 2 or float(counts.count.sum()) <= 0:
        raise RatingError("need votes between at least two models to fit ratings")
    if anchor not in counts.models:
        raise RatingError(f"anchor model {anchor!r} has no counted votes")
    groups = components(counts)
    if len(groups) > 1:
        raise RatingError(
            f"the comparison graph is disconnected ({len(groups)} components); fit each component "
            "separately or choose models that were compared"
        )


def _existence_notes(exists: bool, ridge: float, prior_precision: float) -> list[str]:
    """What keeps the ratings finite when the maximum-likelihood estimate does not exist."""
    if exists:
        return []
    why = "maximum-likelihood ratings do not exist (some model never wins or never loses against the rest); "
    if prior_precision > 0:
        return [
            why + f"the prior (lambda {prior_precision:g}) keeps them finite: the one-sided models' ratings "
            "are set by the prior, not measured"
        ]
    if ridge > 0:
        return [why + f"fitted with ridge {ridge:g}"]
    return [
        why + "nothing keeps them finite (no prior, no ridge): the fit stops where the likelihood flattens"
    ]


def clustered_sandwich_covariance(
    counts: PairCounts,
    theta: np.ndarray,
    anchor_index: int,
    voter: np.ndarray,
    block: int = 4_000_000,
    *,
    prior_precision: float = 0.0,
    ridge: float = 0.0,
    notes: list[str] | None = None,
) -> np.ndarray:
    """The sandwich with each voter's votes summed before squaring (cluster-robust): H⁻¹ J H⁻¹ with
    J = Σ_v g_v g_vᵀ, g_v = Σ over v's cells of n·(y − p)·(e_left − e_right).

    `counts` holds one cell per (voter, left, right, score) and `voter[i]` is cell i's voter code
    (0 … V−1). One person's votes are not independent (a taste, a position habit, a campaign); when
    they lean together this interval is wider than the plain sandwich, which treats every vote as
    independent. With one vote per voter the two are identical. The ties' coins (`tie_coin_share`) add
    π·c²·y(1 − y) per voter cell of c votes scoring y. H carries the fit's penalty
    (`prior_precision`, `ridge`); a fallback of the inverse is recorded in `notes`."""
    m = counts.n_models
    model = PairModel.of_counts(counts)
    p, _ = model.evaluate(theta, with_value=False)
    information = model.information(model.weighted(p * (1 - p)))
    information += Penalty(m, ridge=ridge, precision=prior_precision).hessian(m)
    voter = np.asarray(voter, dtype=np.int64)
    meat = _voter_meat(counts, counts.count * (counts.score - p), voter, block) + _voter_coins(counts, voter)
    free = np.arange(m) != anchor_index
    return sandwich(information, meat, free, [] if notes is None else notes, "clustered sandwich")


def _voter_coins(counts: PairCounts, voter: np.ndarray) -> np.ndarray:
    """The ties' coins in the clustered meat (`tie_coin_share`): Σ π·c²·y(1 − y)·z zᵀ over voter cells, c the
    votes one voter cast with the same (left, right, score). One coin per voter cell: identical votes of
    one voter lean together in every other respect, so their coins do not average out either (rows of
    one vote each are summed per voter cell first)."""
    m = counts.n_models
    coin = tie_coin_share(m, counts.left * m + counts.right, counts.score, counts.count)
    tossed = coin > 0.0
    if not tossed.any():
        return np.zeros((m, m))
    keys = np.stack([voter[tossed], counts.left[tossed], counts.right[tossed]], axis=1)
    keys = np.concatenate([keys, counts.score[tossed, None].view(np.int64)], axis=1)
    cells, slot = np.unique(keys, axis=0, return_inverse=True)
    n = np.bincount(slot.ravel(), counts.count[tossed], len(cells))
    share = np.bincount(slot.ravel(), coin[tossed], len(cells)) / np.bincount(slot.ravel(), None, len(cells))
    score = cells[:, 3].copy().view(np.float64)
    coins = PairModel(m, cells[:, 1] * m + cells[:, 2], score)
    return coins.information(share * n**2 * score * (1.0 - score))


def _voter_meat(counts: PairCounts, r: np.ndarray, voter: np.ndarray, block: int) -> np.ndarray:
    """Σ_v g_v g_vᵀ, g_v = Σ over voter v's cells of r·(e_left − e_right): the g_v are built densely
    for a range of voters at a time (about `block` numbers) and their Gram matrices summed."""
    m = counts.n_models
    left, right = counts.left, counts.right
    if len(voter) > 1 and not np.all(voter[1:] >= voter[:-1]):
        order = np.argsort(voter, kind="stable")
        voter, left, right, r = voter[order], left[order], right[order], r[order]
    meat = np.zeros((m, m))
    per_block = max(1, block // m)
    starts = np.searchsorted(voter, np.arange(0, int(voter[-1]) + 1 if len(voter) else 0, per_block))
    for a, b in zip(starts, [*starts[1:], len(voter)], strict=True):
        if a == b:
            continue
        first = voter[a]
        slot = (voter[a:b] - first) * m
        size = int(voter[b - 1] - first + 1) * m
        g = np.bincount(slot + left[a:b], r[a:b], size) - np.bincount(slot + right[a:b], r[a:b], size)
        g = g.reshape(-1, m)
        meat += g.T @ g
    return meat


# ------------------------------------------------------------------------------------------------
# Bootstrap: resample votes (Poisson over the aggregated cells) and refit every replicate.


def design_matrix(counts: PairCounts):
    """K × m sparse matrix with +1 at the left model and −1 at the right model of each cell."""
    from scipy.sparse import csr_matrix

    k = len(counts.left)
    rows = np.concatenate([np.arange(k), np.arange(k)])
    cols = np.concatenate([counts.left, counts.right])
    vals = np.concatenate([np.ones(k), -np.ones(k)])
    return csr_matrix((vals, (rows, cols)), shape=(k, counts.n_models))


def bootstrap_thetas(
    counts: PairCounts,
    theta_hat: np.ndarray,
    rounds: int,
    seed: int,
    *,
    free: np.ndarray | None = None,
    prior: np.ndarray | None = None,
    penalty: float = 0.0,
    prior_precision: float = 0.0,
    batch: int = 50,
    workers: int = 1,
    tol: float = 1e-6,
    max_iter: int = 60,
    notes: list[str] | None = None,
) -> np.ndarray:
    """`rounds` × m bootstrap replicates of θ, each a full refit on votes resampled with replacement.

    Votes are resampled by the Poisson bootstrap over the aggregated cells (each vote counted
    Poisson(1) times), the streaming form of resampling votes with replacement; ties that count as
    coins are drawn as wins and losses of half their count each (`resampling_cells`). Replicates are solved
    together, starting from θ̂ with the Hessian at θ̂ held fixed (a chord method): each step costs two
    sparse products, and converges because a replicate's Hessian differs from θ̂'s only by sampling
    noise. A replicate that has not converged after `max_iter` steps is refitted alone by the one
    penalised Newton solver, so every replicate is an exact fit (to `tol` on θ, i.e. 4e-4 Elo by
    default); how many were is recorded in `notes`. More `workers` pay off only with more cores than
    BLAS threads: on 2 cores one process is fastest.

    Batches draw from their own child seed (numpy SeedSequence.spawn), so the replicates are the same
    whatever `workers` is. `free` marks the parameters that move (all but a pinned anchor, θ = 0).
    `penalty` adds penalty/2 · |θ − prior|² (segment boards, shrunk towards the overall board, nothing
    pinned) and `prior_precision` λ the published boards' prior λ/2 · Σ(θ − θ̄)²: the replicates must
    carry the penalty the published fit carried, or the interval describes another estimator.
    """
    m = counts.n_models
    if free is None:
        raise ValueError("bootstrap_thetas needs `free`: which parameters move (all but a pinned anchor)")
    free = np.asarray(free, dtype=bool)
    counts = resampling_cells(counts)  # excess ties resampled with their coins (tie_coin_share)
    centre = 0.0 if prior is None else np.asarray(prior, dtype=float)
    pull = Penalty(m, ridge=penalty, centre=centre, precision=prior_precision)
    model = PairModel.of_counts(counts)
    p_hat, _ = model.evaluate(theta_hat, with_value=False)
    hess = (model.information(model.weighted(p_hat * (1 - p_hat))) + pull.hessian(m))[np.ix_(free, free)]
    sizes = [min(batch, rounds - start) for start in range(0, rounds, batch)]
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    job = _BootstrapJob(counts, theta_hat, free, pull, hess, tol, max_iter)
    if workers > 1 and len(sizes) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            parts = list(pool.map(job.run, sizes, seeds))
    else:
        parts = [job.run(size, s) for size, s in zip(sizes, seeds, strict=True)]
    _bootstrap_notes(parts, rounds, max_iter, notes)
    return np.concatenate([theta for theta, _, _ in parts], axis=0) if parts else np.empty((0, m))


def _bootstrap_notes(parts: list, rounds: int, max_iter: int, notes: list[str] | None) -> None:
    if notes is None:
        return
    refitted = sum(count for _, count, _ in parts)
    if refitted:
        _note(
            notes,
            f"bootstrap: {refitted} of {rounds} replicates had not converged after {max_iter} chord steps "
            "and were refitted alone by full Newton steps",
        )
    for _, _, part_notes in parts:
        for text in part_notes:
            _note(notes, text)


@dataclass
class _BootstrapJob:
    counts: PairCounts
    theta_hat: np.ndarray
    free: np.ndarray
    pull: Penalty
    hess: np.ndarray
    tol: float
    max_iter: int

    def run(self, size: int, seed: np.random.SeedSequence) -> tuple[np.ndarray, int, list[str]]:
        """(size × m replicates, how many were refitted alone, notes) for one batch."""
        counts, free, notes = self.counts, self.free, []
        design = design_matrix(counts)
        factor = _factor(self.hess, notes, "bootstrap chord steps")
        y = counts.score
        offset = 0.0 if counts.offset is None else counts.offset
        rng = np.random.default_rng(seed)
        # Poisson bootstrap: each vote is drawn Poisson(1) times, so a cell of c votes is drawn
        # Poisson(c) times. Asymptotically the same as resampling N votes with replacement (the total
        # varies by ~√N), twice as fast to draw as the multinomial, and exact per cell.
        weights = rng.poisson(counts.count, size=(size, len(counts.count))).astype(float)
        theta = np.tile(self.theta_hat, (size, 1))
        active = np.ones(size, dtype=bool)
        free_idx = np.flatnonzero(free)
        for _ in range(self.max_iter):
            idx = np.flatnonzero(active)
            p = _sigmoid((design @ theta[idx].T).T + offset)
            grad = (design.T @ (weights[idx] * (y - p)).T).T - self.pull.gradient(theta[idx])
            step = _apply_inverse(factor, grad[:, free].T).T
            theta[np.ix_(idx, free_idx)] += step
            active[idx[np.max(np.abs(step), axis=1) < self.tol]] = False
            if not active.any():
                break
        for i in np.flatnonzero(active):  # rare: refit alone, exactly
            alone = PairModel.of_counts(counts, weights[i])
            what = "bootstrap replicate refitted alone"
            theta[i] = penalised_newton(
                alone, self.pull, theta[i], free, notes, what=what, tol=self.tol, max_iter=100
            ).x
        return theta, int(active.sum()), notes


def percentile_interval(
    thetas: np.ndarray, theta_hat: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each model's θ relative to the board's mean, placed around θ̂.

    Relative to the mean (not to the pinned anchor), so the anchor's interval is not degenerate
    and the interval does not depend on which model is pinned."""
    centred = thetas - thetas.mean(axis=1, keepdims=True)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(centred, [alpha, 1.0 - alpha], axis=0)
    shift = theta_hat.mean()
    return lo + shift, hi + shift


# ------------------------------------------------------------------------------------------------
# Shrinkage: a segment's board borrows strength from the overall board.


@dataclass
class ShrunkFit:
    models: tuple[str, ...]
    theta: np.ndarray  # on the overall board's scale; Σ(θ − prior) = 0
    cov: np.ndarray  # sandwich covariance of the penalised estimate, the prior held fixed
    penalty: float
    converged: bool
    notes: list[str] = field(default_factory=list)
    bread: np.ndarray | None = None  # (information + penalty·I)⁻¹ at the fit

    def departure_cov(self, prior_var: np.ndarray | None = None) -> np.ndarray:
        """What `cov` leaves out when the estimate is read as the segment's own ratings θ_s: the
        shrinkage model says θ_s = prior + δ with δ ~ N(0, I/penalty), and `prior_var` (per model,
        optional) is the variance of the prior itself (the overall board is an estimate too). The
        estimate's error θ̂ − θ_s then has covariance B⁻¹(M + λ²·S)B⁻¹ with B⁻¹ the bread, M the meat,
        λ the penalty and S = I/λ + diag(prior_var): this is `cov` + B⁻¹ λ²S B⁻¹, and the second term is
        returned here. The segment's level is a convention (Σ(θ − prior) = 0, which no vote moves), so S
        is taken on the contrasts only (C S C, C = I − 11ᵀ/m). With no votes the result is C S C: a
        segment without data knows its ranks no better than the prior says, and never exactly. With many
        votes it vanishes."""
        if self.bread is None:
            raise ValueError("this fit has no bread (fit_shrunk sets it)")
        m = len(self.theta)
        spread = np.full(m, self.penalty)
        if prior_var is not None:
            spread = spread + self.penalty**2 * np.asarray(prior_var, dtype=float)
        contrasts = np.eye(m) - 1.0 / m
        return self.bread @ (contrasts * spread) @ contrasts @ self.bread


def fit_shrunk(
    counts: PairCounts, prior: np.ndarray, penalty: float, tol: float = 1e-10, max_iter: int = 100
) -> ShrunkFit:
    """Maximise loglik − penalty/2 · |θ − prior|² with every θ free.

    The likelihood does not move when all θ shift together, so the penalty alone sets the level:
    at the optimum Σ(θ − prior) = 0, i.e. the segment's ratings sit on the overall board's scale
    even when the anchor has no votes in the segment. A tiny penalty gives the (unshrunk) maximum
    likelihood estimate on that scale."""
    model, pull, fit, notes = _shrunk_newton(counts, prior, penalty, tol, max_iter)
    free = np.ones(counts.n_models, dtype=bool)
    cov, bread = _model_sandwich(model, pull, fit.p, free, notes, "segment sandwich")
    return ShrunkFit(counts.models, fit.x, cov, penalty, fit.converged, notes, bread)


def shrunk_theta(
    counts: PairCounts,
    prior: np.ndarray,
    penalty: float,
    tol: float = 1e-10,
    max_iter: int = 100,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, list[str]]:
    """fit_shrunk's θ (and its notes) without the sandwich: for what needs the point alone (held-out scores,
    the unshrunk estimate), where the sandwich's pass over the rows was a third of the work on style rows.
    `start` (default the prior): where Newton starts, e.g. the optimum under a nearby penalty; the
    objective is strictly concave, so the optimum is the same (to `tol`) from anywhere."""
    _, _, fit, notes = _shrunk_newton(counts, prior, penalty, tol, max_iter, start)
    return fit.x, notes


def shrunk_path(
    counts: PairCounts, prior: np.ndarray, penalties: list[float], tol: float = 1e-10, max_iter: int = 100
) -> list[tuple[np.ndarray, list[str]]]:
    """shrunk_theta under each of `penalties` in turn, each fit starting at the previous one's optimum (the
    first at the prior): the same fits as that loop of shrunk_theta calls, to the bit, on one model, each
    start's probabilities and log-likelihood taken from the fit that ended there instead of computed again
    (one pass over the rows saved per fit: the held-out choice of the segments' prior sd)."""
    model, out, x, at_start = PairModel.of_counts(counts), [], prior, None
    for penalty in penalties:
        _, _, fit, notes = _shrunk_newton(counts, prior, penalty, tol, max_iter, x, model, at_start)
        out.append((fit.x, notes))
        x, at_start = fit.x, (None if math.isnan(fit.loglik) else (fit.p, fit.loglik))
    return out


def _shrunk_newton(
    counts: PairCounts,
    prior: np.ndarray,
    penalty: float,
    tol: float,
    max_iter: int,
    start=None,
    model: PairModel | None = None,
    at_start: tuple[np.ndarray, float] | None = None,
):
    """The shrunk fit's Newton run: (model, pull, result, notes); `model` when one is built already (the
    same counts), `at_start` the model's evaluation at `start` when known (penalised_newton)."""
    m = counts.n_models
    model = PairModel.of_counts(counts) if model is None else model
    pull = Penalty(m, ridge=penalty, centre=np.asarray(prior, dtype=float))
    free, notes = np.ones(m, dtype=bool), []
    x0 = prior if start is None else start
    fit = penalised_newton(
        model,
        pull.level_pinned(),
        x0,
        free,
        notes,
        what="segment fit",
        tol=tol,
        max_iter=max_iter,
        at_start=at_start,
    )
    return model, pull, fit, notes


def heldout_loglik(counts: PairCounts, theta: np.ndarray) -> float:
    return PairModel.of_counts(counts).evaluate(theta)[1]


# ------------------------------------------------------------------------------------------------
# Style control: Bradley-Terry plus covariates of the two responses (DESIGN §3).


@dataclass
class StyleFit:
    models: tuple[str, ...]
    anchor: str
    theta: np.ndarray  # anchor at 0
    beta: np.ndarray  # coefficients on the scaled features
    cov: np.ndarray  # sandwich covariance of (θ, β), anchor row/col zero
    feature_scale: np.ndarray  # the standard deviations the features were divided by
    converged: bool
    iterations: int
    notes: list[str] = field(default_factory=list)

    def centred_se(self) -> np.ndarray:
        m = len(self.models)
        return centred_se(self.cov[:m, :m])

    def beta_se(self) -> np.ndarray:
        m = len(self.models)
        return np.sqrt(np.clip(np.diag(self.cov)[m:], 0.0, None))


def fit_style_bradley_terry(
    models: tuple[str, ...],
    left: np.ndarray,
    right: np.ndarray,
    score: np.ndarray,
    features: np.ndarray,
    weight: np.ndarray | None,
    anchor: str,
    ridge: float = 1.0,
    tol: float = 1e-6,
    max_iter: int = 50,
    theta0: np.ndarray | None = None,
    features_by_row: bool = True,
    prior_precision: float = 0.0,
) -> StyleFit:
    """P(left wins) = σ(θ_left − θ_right + Σ β_k x_k) on rows of (left, right, score, features, weight).

    Features are divided by their (weighted) standard deviation but not centred: a difference
    (L−R)/(L+R) flips sign when the sides swap, and centring would break that symmetry. The ridge
    penalises β only (ridge/2 · |β|²), never the ratings; with millions of votes the default ridge of
    1 moves β by less than 1e-5. `theta0` (e.g. the plain board's θ) is only a starting point.
    `features` is rows × k (copied once into the working layout), or k × rows with
    `features_by_row=False` (the working layout: read in place, never copied or changed). `weight`
    None means every row counts once. The fit runs on the unscaled features with the ridge on each
    coefficient multiplied by its feature's variance, which is the same problem as the ridge on the
    scaled coefficients without a scaled copy. `prior_precision` λ adds the published boards' prior
    λ/2 · Σ(θ − θ̄)² on the ratings (see RATING_PRIOR_PRECISION); its curvature is in the sandwich's H.

    The one penalised Newton solver, backtracking for the first three iterations only (then full
    steps, each reusing the probabilities of the point it reached); it stops after a step smaller
    than `tol`, which leaves an error of order tol² (quadratic convergence). Every pass over the rows
    is one gather, one sigmoid and a handful of bincounts into the m × m pair grid, so the cost per
    iteration is a few tenths of a second on ten million rows."""
    m = len(models)
    anchor_index = models.index(anchor)
    xt = np.ascontiguousarray(features.T if features_by_row else features, dtype=float)
    w = None if weight is None else np.asarray(weight, dtype=float)
    scale = _feature_scale(xt, w)
    pair = np.asarray(left, dtype=np.int64) * m + np.asarray(right, dtype=np.int64)
    model = PairModel(m, pair, np.asarray(score, dtype=float), w, xt)
    penalty = Penalty(m, ridge=np.concatenate([np.zeros(m), ridge * scale**2]), precision=prior_precision)
    free = np.concatenate([np.arange(m) != anchor_index, np.ones(len(scale), dtype=bool)])
    x0 = np.zeros(m + len(scale))
    if theta0 is not None:
        x0[:m] = np.asarray(theta0, dtype=float) - theta0[anchor_index]
    notes: list[str] = []
    fit = penalised_newton(
        model, penalty, x0, free, notes, what="style fit", tol=tol, max_iter=max_iter, damped=3
    )
    cov, _ = _model_sandwich(model, penalty, fit.p, free, notes, "style sandwich")
    to_scaled = np.concatenate([np.ones(m), scale])  # report β per standard deviation
    cov *= np.outer(to_scaled, to_scaled)
    return StyleFit(
        models, anchor, fit.x[:m], fit.x[m:] * scale, cov, scale, fit.converged, fit.iterations, notes
    )


def _feature_scale(xt: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Each feature's (weighted) root mean square; 1 for a feature that is always 0."""
    total = xt.shape[1] if w is None else w.sum()
    squares = np.einsum("kn,kn->k", xt, xt) if w is None else np.einsum("kn,kn,n->k", xt, xt, w)
    scale = np.sqrt(squares / total)
    scale[scale == 0] = 1.0
    return scale
