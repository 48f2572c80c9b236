"""Leaderboards from aggregated counts: the overall raw board, the style-controlled board and the
segment boards (fit, intervals, rank, provisional flags). Plain pandas/numpy; the estimators are in
`bradley_terry.py`."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline.core import rank_uncertainty as ru
from showdown_pipeline.core.vote_schema import WINNER_SCORE
from showdown_pipeline.settings import default_threads

# One row of a published leaderboard (the snapshot contract, DESIGN §6): its columns in order and
# their types. Snapshots write exactly this schema; every board frame carries these columns.
LEADERBOARD_SCHEMA = pa.schema(
    [
        ("board", pa.string()),
        ("segment_dim", pa.string()),
        ("segment_value", pa.string()),
        ("model_id", pa.string()),
        ("rating", pa.float64()),
        ("ci_lower", pa.float64()),
        ("ci_upper", pa.float64()),
        ("rank", pa.int64()),
        ("votes", pa.int64()),
        ("users", pa.int64()),
        ("provisional", pa.bool_()),
        ("provisional_reason", pa.string()),
        ("ci_method", pa.string()),
        ("sandwich_lower", pa.float64()),
        ("sandwich_upper", pa.float64()),
        ("cluster_lower", pa.float64()),
        ("cluster_upper", pa.float64()),
        ("rating_unshrunk", pa.float64()),
        ("diff_vs_overall", pa.float64()),
        ("diff_lower", pa.float64()),
        ("diff_upper", pa.float64()),
        ("differs_from_overall", pa.bool_()),
        ("component", pa.int64()),
        ("component_anchor", pa.string()),
        # simultaneous 95% rank interval, P(first), P(top five), tier (core/rank_uncertainty.py), on every
        # board; rank_method: their source (the board's bootstrap replicates, or normal draws from its fit's
        # sandwich covariance where it has none: the style boards, a board run with 0 rounds)
        ("rank_lower", pa.int64()),
        ("rank_upper", pa.int64()),
        ("p_top1", pa.float64()),
        ("p_top5", pa.float64()),
        ("tier", pa.int64()),
        ("rank_method", pa.string()),
        # style segment rows: p-value of the score test that the segment's style coefficients equal the
        # overall style board's (core/style_segments.py); null on other rows and untested segments
        ("style_shift_p_value", pa.float64()),
        # a pre_release registry model with < 1,000 counted votes since its public release (core/providers.py);
        # decided at publish, null in the board tables
        ("pre_release_provisional", pa.bool_()),
    ]
)
LEADERBOARD_COLUMNS: tuple[str, ...] = tuple(LEADERBOARD_SCHEMA.names)

SEGMENT_DIMENSIONS: tuple[str, ...] = ("country", "age_band", "education", "language", "profession")
STYLE_FEATURES: tuple[str, ...] = ("tokens", "headers", "lists", "bold", "latency_ms")
# Prior standard deviations (logit scale) of a segment's deviation from the overall board that the
# held-out likelihood chooses between; the penalty is 1/sd².
SHRINKAGE_SD_GRID: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.4, 1.0, 3.0)
# Held-out log-likelihoods closer than this (nats; χ²₁'s 95% point / 2, as a likelihood-ratio interval) do
# not tell two prior sds apart: the larger is chosen (`choose_shrinkage_of`).
SHRINKAGE_TOLERANCE_NATS = 1.92
UNSHRUNK_PENALTY = 1e-6  # only pins the level of a segment's maximum-likelihood estimate
SEGMENT_DEPARTURE_STREAM = 7  # the random stream, beside a segment's bootstrap seed, of its departure draws


@dataclass(frozen=True)
class Thresholds:
    """When a model's row is solid rather than provisional (DESIGN §3 defaults)."""

    min_votes: int = 300
    min_users: int = 50
    max_user_share: float = 0.10


# The rating knobs' defaults, one place each: the Dagster Configs (defs/ratings), the CLI and the
# functions below take them from these classes.
@dataclass(frozen=True)
class OverallSettings:
    """Intervals of the overall raw board (DESIGN §3: a 1000-round percentile bootstrap)."""

    bootstrap_rounds: int = 1000  # 0: the sandwich interval only
    workers: int = 1  # bootstrap processes (more help only beyond 2 cores)


@dataclass(frozen=True)
class StyleSettings:
    """The style-controlled board."""

    ridge: float = 1.0  # L2 penalty on the style coefficients (never on the ratings)


@dataclass(frozen=True)
class SegmentSettings:
    """The segment boards: shrinkage towards the overall board and their intervals."""

    bootstrap_rounds: int = 200  # 0: the sandwich interval of the shrunk fit
    prior_sd: float | None = None  # None: chosen by held-out likelihood (choose_shrinkage)
    folds: int = 3  # folds of that held-out likelihood


@dataclass
class Component:
    """One connected part of the comparison graph, rated on its own scale: `number` 1 is the anchor's
    part; each other part pins its own anchor (its most-voted model) at the same anchor rating, so its
    ratings are comparable within it and never with another part."""

    number: int
    anchor: str
    counts: bt.PairCounts
    fit: bt.BTFit | None = None
    ranks: ru.RankSets | None = None  # from its bootstrap replicates; None without them

    @property
    def models(self) -> tuple[str, ...]:
        return self.counts.models

    def describe(self, anchor_rating: float) -> dict:
        """The manifest's entry for this part."""
        return {
            "component": self.number,
            "anchor": self.anchor,
            "anchor_rating": anchor_rating,
            "anchor_rule": "the board's anchor"
            if self.number == 1
            else "its most-voted model (ties: alphabetically first)",
            "models": list(self.models),
            "votes": float(self.counts.count.sum()),
            "mle_exists": None if self.fit is None else bool(self.fit.mle_exists),
            "comparable_with_component_1": self.number == 1,
        }


@dataclass
class Board:
    frame: pd.DataFrame  # LEADERBOARD_COLUMNS plus theta, se
    anchor: str
    anchor_rating: float
    unrated: dict[str, str] = field(default_factory=dict)  # model -> why it has no row
    notes: list[str] = field(default_factory=list)
    fit: bt.BTFit | None = None  # the anchor's component (component 1)
    extra: dict = field(default_factory=dict)
    components: list[Component] = field(default_factory=list)


def pair_counts_from_frame(cells: pd.DataFrame) -> bt.PairCounts:
    """Fit-ready counts from `cells` (model_left, model_right, winner, n; from SQL).

    Plain Bradley-Terry has no side effect, so a vote of j (left) against i (right) is the same
    observation as i against j with the score flipped, and both tie kinds score ½: the cells are
    folded into one orientation per pair and one row per score. The likelihood is unchanged and the
    fit and every bootstrap round touch about three times fewer cells."""
    return _pair_counts(_folded_cells(cells))


def _folded_cells(cells: pd.DataFrame, by: tuple[str, ...] = ()) -> pd.DataFrame:
    """`cells` folded (pair_counts_from_frame), one row per (*by, a, b, score) with a < b, sorted so."""
    score = cells["winner"].map(WINNER_SCORE)
    if score.isna().any():
        bad = sorted(cells.loc[score.isna(), "winner"].astype(str).unique())
        raise bt.RatingError(f"unexpected winner labels in counted votes: {bad}")
    left = cells["model_left"].astype(str).to_numpy(dtype=object)
    right = cells["model_right"].astype(str).to_numpy(dtype=object)
    flip = left > right
    y = score.to_numpy(dtype=float)
    folded = pd.DataFrame(
        {
            **{key: cells[key].to_numpy() for key in by},
            "a": np.where(flip, right, left),
            "b": np.where(flip, left, right),
            "score": np.where(flip, 1.0 - y, y),
            "n": cells["n"].to_numpy(dtype=float),
        }
    )
    return folded.groupby([*by, "a", "b", "score"], as_index=False, sort=True)["n"].sum()


def _pair_counts(folded: pd.DataFrame) -> bt.PairCounts:
    """PairCounts.from_cells of folded cells, with numpy's sorted unique names instead of a loop per cell."""
    a = folded["a"].to_numpy(dtype=object)
    b = folded["b"].to_numpy(dtype=object)
    models = np.unique(np.concatenate([a, b]))
    return bt.PairCounts(
        models=tuple(models),
        left=np.searchsorted(models, a).astype(np.int64),
        right=np.searchsorted(models, b).astype(np.int64),
        score=folded["score"].to_numpy(dtype=float),
        count=folded["n"].to_numpy(dtype=float),
    )


def provisional_reasons(
    frame: pd.DataFrame, stats: pd.DataFrame, thresholds: Thresholds, extra: dict | None = None
):
    stats = stats.set_index("model_id")
    frame["votes"] = frame["model_id"].map(stats["votes"]).fillna(0).astype("int64")
    frame["users"] = frame["model_id"].map(stats["users"]).fillna(0).astype("int64")
    share = frame["model_id"].map(stats["top_user_share"]).fillna(1.0)
    reasons = []
    for model, votes, users, top_share in zip(
        frame["model_id"], frame["votes"], frame["users"], share, strict=True
    ):
        why = []
        if votes < thresholds.min_votes:
            why.append(f"votes {votes} < {thresholds.min_votes}")
        if users < thresholds.min_users:
            why.append(f"users {users} < {thresholds.min_users}")
        if top_share > thresholds.max_user_share:
            why.append(f"one user cast {top_share:.0%} of its votes (> {thresholds.max_user_share:.0%})")
        if extra and model in extra:
            why.append(extra[model])
        reasons.append("; ".join(why) or None)
    frame["provisional_reason"] = reasons
    frame["provisional"] = frame["provisional_reason"].notna()


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill the columns a board leaves empty, rank within each component and sort the rows."""
    for column in LEADERBOARD_COLUMNS:
        if column not in frame:
            frame[column] = False if column == "differs_from_overall" else np.nan
    frame["differs_from_overall"] = frame["differs_from_overall"].astype(bool)
    frame["provisional"] = frame["provisional"].astype(bool)
    frame["component"] = frame["component"].fillna(1).astype("int64")
    for column in ("rank_lower", "rank_upper", "tier"):  # integers, null where a board could not rank
        frame[column] = frame[column].astype("Int64")
    frame["rank_method"] = frame["rank_method"].astype(object).where(frame["rank_method"].notna(), None)
    frame["rank"] = 0
    for _, rows in frame.groupby("component").groups.items():  # ranks never cross scales
        frame.loc[rows, "rank"] = bt.rank_by_intervals(
            frame.loc[rows, "ci_lower"].to_numpy(), frame.loc[rows, "ci_upper"].to_numpy()
        )
    frame = frame.sort_values(
        ["component", "rank", "rating", "model_id"], ascending=[True, True, False, True]
    ).reset_index(drop=True)
    return frame[[*LEADERBOARD_COLUMNS, "theta", "se"]]


def split_components(counts: bt.PairCounts, anchor: str) -> tuple[list[Component], dict[str, str]]:
    """The connected parts of the comparison graph, the anchor's first, then by size; each other
    part's anchor is its most-voted model. Returns (parts, unrated): a model compared only with
    itself cannot be rated at all."""
    if anchor not in counts.models:
        raise bt.RatingError(f"anchor model {anchor!r} has no counted votes; choose another with --anchor")
    groups = bt.components(counts)
    groups.sort(key=lambda g: anchor not in g)  # stable: the rest stay largest first
    if len(groups[0]) < 2:
        raise bt.RatingError(f"anchor model {anchor!r} was never compared with another model")
    votes = pd.Series(
        np.bincount(counts.left, counts.count, counts.n_models)
        + np.bincount(counts.right, counts.count, counts.n_models),
        index=list(counts.models),
    )
    parts, unrated = [], {}
    for group in groups:
        if len(group) < 2:
            unrated[group[0]] = "compared only with itself: nothing to rate it against"
            continue
        sub = counts.subset(group) if len(groups) > 1 else counts
        if anchor in group:
            own_anchor = anchor
        else:
            in_group = votes[list(group)]
            own_anchor = str(in_group[in_group == in_group.max()].index.min())
        parts.append(Component(len(parts) + 1, own_anchor, sub))
    return parts, unrated


def separated_models(counts: bt.PairCounts) -> dict[str, str]:
    """Models whose every vote went one way (never lost, or never won): no finite maximum-likelihood
    rating, so the prior alone bounds them."""
    m = counts.n_models
    scored = np.bincount(counts.left, counts.count * counts.score, m) + np.bincount(
        counts.right, counts.count * (1 - counts.score), m
    )
    played = np.bincount(counts.left, counts.count, m) + np.bincount(counts.right, counts.count, m)
    out = {}
    for name, s, n in zip(counts.models, scored, played, strict=True):
        if n > 0 and s >= n:
            out[name] = (
                f"never lost in its {n:,.0f} votes: they set no upper limit, so its rating and interval "
                "are set by the prior, not measured (it is ahead; how far, the votes cannot say)"
            )
        elif n > 0 and s <= 0:
            out[name] = (
                f"never won in its {n:,.0f} votes: they set no lower limit, so its rating and interval "
                "are set by the prior, not measured (it is behind; how far, the votes cannot say)"
            )
    return out


def unmeasured_overall(overall: Board) -> dict[str, str]:
    """The models of a board whose rating its votes do not bound (never lost or never won within their
    component), with the reason: as a segment's prior such a rating is uncertain by the rating prior's own
    variance, not by its sandwich se (which the prior makes small)."""
    out: dict[str, str] = {}
    for part in overall.components:
        out.update(separated_models(part.counts))
    return out


def build_board(
    cells: pd.DataFrame,
    stats: pd.DataFrame,
    anchor: str,
    anchor_rating: float,
    thresholds: Thresholds = Thresholds(),
    *,
    bootstrap_rounds: int = 0,
    seed: int = 0,
    workers: int = 1,
    board: str = "raw",
    segment_dim: str = "overall",
    segment_value: str = "all",
    prior_precision: float = bt.RATING_PRIOR_PRECISION,
) -> Board:
    """The raw overall board, one block per connected component of the comparison graph.

    Component 1 holds the anchor; every other component is rated on its own scale (its own anchor at
    the same rating), ranked within itself and flagged provisional, because no vote links its scale
    to the main board's. Every fit, sandwich and bootstrap replicate carries the same prior
    λ/2 · Σ(θ − θ̄)² (λ = `prior_precision`; 0 gives plain maximum likelihood). With
    `bootstrap_rounds` > 0 the published interval is the percentile bootstrap (component k draws
    from seed + k − 1); the sandwich interval is always computed and published beside it."""
    parts, unrated = split_components(pair_counts_from_frame(cells), anchor)
    frames, notes, extra = [], [], {"prior_precision": prior_precision}
    for part in parts:
        part.fit = bt.fit_bradley_terry(part.counts, part.anchor, prior_precision=prior_precision)
        part_notes = list(part.fit.notes)
        frames.append(
            _component_frame(
                part, anchor_rating, bootstrap_rounds, seed, workers, prior_precision, part_notes
            )
        )
        label = f"component {part.number}: " if len(parts) > 1 else ""
        notes.extend(label + text for text in part_notes)
        if part.number > 1:
            notes.append(
                f"component {part.number} ({len(part.models)} models) is not connected to the anchor "
                f"{anchor}: rated on its own scale with {part.anchor} = {anchor_rating:g}"
            )
    if bootstrap_rounds > 0:
        extra["bootstrap"] = {"rounds": bootstrap_rounds, "seed": seed}
    frame = pd.concat(frames, ignore_index=True)
    frame["board"], frame["segment_dim"], frame["segment_value"] = board, segment_dim, segment_value
    frame["rating_unshrunk"] = frame["rating"]
    provisional_reasons(frame, stats, thresholds, _component_reasons(parts, anchor, anchor_rating))
    return Board(
        frame=_finish(frame),
        anchor=anchor,
        anchor_rating=anchor_rating,
        unrated=unrated,
        notes=notes,
        fit=parts[0].fit,
        extra=extra,
        components=parts,
    )


def _component_frame(
    part: Component,
    anchor_rating: float,
    bootstrap_rounds: int,
    seed: int,
    workers: int,
    prior_precision: float,
    notes: list[str],
) -> pd.DataFrame:
    """Ratings, sandwich and (bootstrap or sandwich) interval of one component; the bootstrap's
    notes are appended to `notes`."""
    fit, counts = part.fit, part.counts
    rating = fit.ratings(anchor_rating)
    s_lower, s_upper = fit.intervals(anchor_rating)
    frame = pd.DataFrame(
        {
            "model_id": list(fit.models),
            "rating": rating,
            "sandwich_lower": s_lower,
            "sandwich_upper": s_upper,
            "theta": fit.theta,
            "se": fit.centred_se(),
            "component": part.number,
            "component_anchor": part.anchor,
        }
    )
    if bootstrap_rounds > 0:
        part_seed = seed + part.number - 1
        thetas = bt.bootstrap_thetas(
            counts,
            fit.theta,
            bootstrap_rounds,
            part_seed,
            free=np.array([m != part.anchor for m in counts.models]),
            prior_precision=prior_precision,
            workers=workers,
            notes=notes,
        )
        lo, hi = bt.percentile_interval(thetas, fit.theta)
        _add_rank_columns(frame, fit.theta, notes, thetas=thetas, cov=fit.cov, seed=part_seed, part=part)
        frame["ci_lower"] = anchor_rating + bt.ELO_SCALE * lo
        frame["ci_upper"] = anchor_rating + bt.ELO_SCALE * hi
        frame["ci_method"] = f"bootstrap percentile ({bootstrap_rounds} rounds, seed {part_seed})"
    else:
        frame["ci_lower"], frame["ci_upper"] = s_lower, s_upper
        frame["ci_method"] = "sandwich"
        _add_rank_columns(frame, fit.theta, notes, cov=fit.cov, seed=seed + part.number - 1, part=part)
    return frame


def _add_rank_columns(
    frame: pd.DataFrame,
    theta_hat: np.ndarray,
    notes: list[str],
    *,
    thetas: np.ndarray | None = None,
    cov: np.ndarray,
    seed: int,
    groups: np.ndarray | None = None,
    part: Component | None = None,
) -> None:
    """Put rank_lower/upper, p_top1/5, tier and rank_method on `frame` (rows in the order of `theta_hat`),
    each group (component) on its own: from the bootstrap replicates `thetas`, or, without them or with
    too few (a note says so), from normal draws with the fit's sandwich covariance `cov`."""
    if thetas is not None and len(thetas) < ru.MIN_ROUNDS:
        text = (
            f"rank intervals, p_top1/p_top5 and tiers need at least {ru.MIN_ROUNDS} bootstrap replicates "
            f"(this board has {len(thetas)}): taken from normal draws with the sandwich covariance instead"
        )
        if text not in notes:
            notes.append(text)
        thetas = None
    if thetas is None and not np.isfinite(cov).all():
        notes.append("rank columns left empty: the fit's sandwich covariance is not finite")
        return
    columns, sets = ru.rank_columns(
        thetas, theta_hat, groups, cov=None if thetas is not None else cov, seed=seed
    )
    for name in (*ru.RANK_COLUMNS, "rank_method"):
        frame[name] = columns[name].to_numpy()
    if part is not None:
        part.ranks = next(iter(sets.values()))


def _component_reasons(parts: list[Component], anchor: str, anchor_rating: float) -> dict[str, str]:
    """Why a rated model is provisional beyond its counts: its component's own scale, a one-sided
    record, or a board without a maximum-likelihood estimate."""
    reasons: dict[str, list[str]] = {}
    for part in parts:
        if part.number > 1:
            for m in part.models:
                reasons.setdefault(m, []).append(
                    f"not connected to the anchor {anchor}: rated on component {part.number}'s own scale "
                    f"({part.anchor} = {anchor_rating:g}), not comparable with the main board"
                )
        separated = separated_models(part.counts)
        for m, why in separated.items():
            reasons.setdefault(m, []).append(why)
        if not part.fit.mle_exists:
            for m in part.models:
                if m not in separated:
                    reasons.setdefault(m, []).append(
                        "no maximum-likelihood ratings exist on this component (some models never win or "
                        "never lose against the rest); the prior keeps them finite"
                    )
    return {m: "; ".join(why) for m, why in reasons.items()}


def add_voter_clustered_interval(
    board: Board,
    models: list[str],
    voter: np.ndarray,
    left_code: np.ndarray,
    right_code: np.ndarray,
    score: np.ndarray,
    count: np.ndarray,
) -> dict:
    """Put the voter-clustered sandwich interval (cluster_lower/cluster_upper) on a fitted board.

    Input: one cell per (voter, left, right, score), voters as integer codes, models as codes into
    `models`; each component's interval comes from its own cells, and cells touching a model the
    board does not rate are left out, as they were from the fit. Returns the design effect
    (clustered / plain sandwich variance) per model, summarised: above 1 means one person's votes
    lean together and the plain interval is too narrow."""
    voter = np.asarray(voter, dtype=np.int64)
    se_parts, effect_parts = [], []
    used = np.zeros(len(voter), dtype=bool)
    if not board.components:
        raise ValueError("the clustered interval needs a board from build_board (its fitted components)")
    for part in board.components:
        fit = part.fit
        position = {m: i for i, m in enumerate(fit.models)}
        recode = np.array([position.get(m, -1) for m in models] or [-1], dtype=np.int64)
        left, right = recode[np.asarray(left_code)], recode[np.asarray(right_code)]
        rated = (left >= 0) & (right >= 0)
        used |= rated
        counts = bt.PairCounts(
            fit.models,
            left[rated],
            right[rated],
            np.asarray(score, float)[rated],
            np.asarray(count, float)[rated],
        )
        cov = bt.clustered_sandwich_covariance(
            counts,
            fit.theta,
            fit.models.index(fit.anchor),
            voter[rated],  # codes 0 … V−1; gaps are harmless
            prior_precision=fit.prior_precision,
            ridge=fit.ridge,
            notes=board.notes,
        )
        se = pd.Series(bt.centred_se(cov), index=list(fit.models))
        se_parts.append(se)
        effect_parts.append((se / pd.Series(fit.centred_se(), index=list(fit.models))) ** 2)
    se, effect = pd.concat(se_parts), pd.concat(effect_parts)
    frame = board.frame
    half = bt.Z_95 * bt.ELO_SCALE * se.reindex(frame["model_id"]).to_numpy()
    frame["cluster_lower"], frame["cluster_upper"] = frame["rating"] - half, frame["rating"] + half
    return {
        "voters": int(np.count_nonzero(np.bincount(voter[used]))) if used.any() else 0,
        "design_effect_median": float(effect.median()),
        "design_effect_max": float(effect.max()),
        "design_effect_max_model": str(effect.idxmax()),
    }


# ------------------------------------------------------------------------------------------------
# Style-controlled board


@dataclass
class StyleRows:
    """Style-board input with models as integer codes: `features` is k × rows in STYLE_FEATURES order
    (normalised differences (L−R)/(L+R)), `weight` the count of identical rows (None: one each).
    Ten million rows are ~500 MB here and never a Python object per row."""

    models: tuple[str, ...]
    left: np.ndarray
    right: np.ndarray
    score: np.ndarray
    features: np.ndarray
    weight: np.ndarray | None = None

    @classmethod
    def from_arrow(cls, table, models: list[str]) -> StyleRows:
        """From SQL output with left_code, right_code (indices into `models`), score, one column per
        STYLE_FEATURES and n (e.g. sql/rate/style_rows.sql)."""
        for name in ("left_code", "right_code", "score", "n", *STYLE_FEATURES):
            if table.column(name).null_count:
                raise bt.RatingError(
                    f"style rows with an empty {name}: a model outside the list or an unscorable winner"
                )
        features = np.empty((len(STYLE_FEATURES), table.num_rows))
        for j, name in enumerate(STYLE_FEATURES):
            features[j] = table.column(name).to_numpy()
        n = table.column("n").to_numpy().astype(float)
        return cls(
            models=tuple(models),
            left=table.column("left_code").to_numpy().astype(np.int64),
            right=table.column("right_code").to_numpy().astype(np.int64),
            score=table.column("score").to_numpy().astype(float),
            features=features,
            weight=None if bool(np.all(n == 1.0)) else n,
        )

    @classmethod
    def from_frame(cls, rows: pd.DataFrame) -> StyleRows:
        """From model_left, model_right, winner (labels), the STYLE_FEATURES columns and n."""
        winner = pd.Categorical(rows["winner"])
        winner_score = np.array([WINNER_SCORE.get(str(c), np.nan) for c in winner.categories])
        if (winner.codes < 0).any() or np.isnan(winner_score[winner.codes]).any():
            raise bt.RatingError("unexpected winner labels in counted votes")
        n_rows = len(rows)
        codes, uniques = pd.factorize(
            np.concatenate(
                [rows["model_left"].to_numpy(dtype=object), rows["model_right"].to_numpy(dtype=object)]
            ),
            sort=True,
        )
        return cls(
            models=tuple(str(m) for m in uniques),
            left=codes[:n_rows].astype(np.int64),
            right=codes[n_rows:].astype(np.int64),
            score=winner_score[winner.codes],
            features=np.ascontiguousarray(rows[list(STYLE_FEATURES)].to_numpy(dtype=float).T),
            weight=rows["n"].to_numpy(dtype=float),
        )

    def take(self, rows: np.ndarray) -> StyleRows:
        """The rows a boolean mask marks, or those at the given positions in their order (same model
        list). np.take/np.compress along the rows: twice as fast as `features[:, rows]` at 9M rows."""
        pick = (
            (lambda a: np.compress(rows, a, axis=-1))
            if rows.dtype == bool
            else (lambda a: np.take(a, rows, axis=-1))
        )
        return StyleRows(
            self.models,
            pick(self.left),
            pick(self.right),
            pick(self.score),
            pick(self.features),
            None if self.weight is None else pick(self.weight),
        )

    @property
    def votes(self) -> float:
        return float(len(self.score) if self.weight is None else self.weight.sum())

    def votes_per_model(self) -> pd.Series:
        """Votes each model appears in (either side), for models with any."""
        m = len(self.models)
        weight = None if self.weight is None else np.concatenate([self.weight, self.weight])
        per_model = np.bincount(np.concatenate([self.left, self.right]), weight, m)
        votes = pd.Series(per_model, index=list(self.models))
        return votes[votes > 0]

    def pair_counts(self) -> bt.PairCounts:
        """The rows folded into Bradley-Terry cells (models, score): for connectivity and the warm start."""
        m = len(self.models)
        outcome = np.rint(self.score * 2).astype(np.int64)  # 0, 0.5, 1 -> 0, 1, 2
        key = (self.left * m + self.right) * 3 + outcome
        if m * m * 3 <= 50_000_000:
            totals = np.bincount(key, self.weight, m * m * 3)
            cells = np.flatnonzero(totals)
            totals = totals[cells]
        else:
            cells, inverse = np.unique(key, return_inverse=True)
            totals = np.bincount(inverse, self.weight, len(cells))
        pair, outcome = np.divmod(cells, 3)
        left, right = np.divmod(pair, m)
        return bt.PairCounts.from_cells(
            [self.models[i] for i in left], [self.models[i] for i in right], outcome / 2.0, totals
        )


def build_style_board(
    rows: pd.DataFrame | StyleRows,
    stats: pd.DataFrame,
    anchor: str,
    anchor_rating: float,
    thresholds: Thresholds = Thresholds(),
    ridge: float = StyleSettings.ridge,
    prior_precision: float = bt.RATING_PRIOR_PRECISION,
) -> Board:
    """`rows`: a StyleRows, or a frame of model_left, model_right, winner, one column per
    STYLE_FEATURES (normalised differences (L−R)/(L+R)) and n (identical rows aggregated in SQL).
    Millions of rows are fine: the fit is vectorised numpy over integer model codes. The ratings
    carry the raw board's prior (`prior_precision`); models outside the anchor's component are
    listed in `unrated` with the reason; the fits' notes are the board's."""
    if isinstance(rows, pd.DataFrame):
        rows = StyleRows.from_frame(rows)
    if len(rows.score) and not np.isin(rows.score, list(WINNER_SCORE.values())).all():
        raise bt.RatingError(f"style rows carry scores outside {sorted(set(WINNER_SCORE.values()))}")
    parts, unrated = split_components(rows.pair_counts(), anchor)
    for part in parts[1:]:  # one set of style coefficients, fitted where the anchor sets the scale
        for m in part.models:
            unrated[m] = (
                f"not connected to the anchor {anchor}: the style board rates the anchor's component "
                f"only (the raw board rates component {part.number} on its own scale)"
            )
    counts = parts[0].counts
    fit, start = _fit_style(rows, counts, anchor, ridge, prior_precision, drop_rows=bool(unrated))
    frame = _style_frame(fit, anchor, anchor_rating)
    provisional_reasons(frame, stats, thresholds, separated_models(counts))
    return Board(
        frame=_finish(frame),
        anchor=anchor,
        anchor_rating=anchor_rating,
        unrated=unrated,
        notes=[*fit.notes, *(f"warm start (the raw fit): {n}" for n in start.notes)],
        components=parts[:1],
        extra={
            "coefficients": _style_coefficients(fit),
            "ridge": ridge,
            "prior_precision": prior_precision,
            "converged": fit.converged,
            "rows": int(rows.votes),
        },
    )


def _fit_style(
    rows: StyleRows, counts: bt.PairCounts, anchor: str, ridge: float, prior_precision: float, drop_rows: bool
) -> tuple[bt.StyleFit, bt.BTFit]:
    """The style fit on the rows between the models of `counts` (the anchor's component; `drop_rows`:
    some rows are outside it), warm-started from the raw board's fit under the same prior; returns
    (style fit, warm start)."""
    rated = set(counts.models)
    in_fit = np.array([m in rated for m in rows.models])
    if drop_rows:
        rows = rows.take(in_fit[rows.left] & in_fit[rows.right])
    recode = np.cumsum(in_fit) - 1
    models = tuple(m for m, kept in zip(rows.models, in_fit, strict=True) if kept)
    start = bt.fit_bradley_terry(counts, anchor, prior_precision=prior_precision)
    start_theta = np.array([start.theta[start.models.index(m)] for m in models])
    fit = bt.fit_style_bradley_terry(
        models,
        recode[rows.left],
        recode[rows.right],
        rows.score,
        rows.features,
        rows.weight,
        anchor,
        ridge=ridge,
        theta0=start_theta,
        features_by_row=False,
        prior_precision=prior_precision,
    )
    return fit, start


def _style_frame(fit: bt.StyleFit, anchor: str, anchor_rating: float) -> pd.DataFrame:
    se = fit.centred_se()
    rating = anchor_rating + bt.ELO_SCALE * fit.theta
    frame = pd.DataFrame(
        {
            "board": "style",
            "segment_dim": "overall",
            "segment_value": "all",
            "model_id": list(fit.models),
            "rating": rating,
            "ci_lower": rating - bt.Z_95 * bt.ELO_SCALE * se,
            "ci_upper": rating + bt.Z_95 * bt.ELO_SCALE * se,
            "ci_method": "sandwich",
            "rating_unshrunk": rating,
            "theta": fit.theta,
            "se": se,
            "component": 1,
            "component_anchor": anchor,
        }
    )
    frame["sandwich_lower"], frame["sandwich_upper"] = frame["ci_lower"], frame["ci_upper"]
    m = len(fit.models)
    _add_rank_columns(frame, fit.theta, fit.notes, cov=fit.cov[:m, :m], seed=0)
    return frame


def _style_coefficients(fit: bt.StyleFit) -> list[dict]:
    """The manifest's style coefficients: per standard deviation of each feature, with 95% intervals."""
    return [
        {
            "feature": name,
            "definition": f"({name}_left - {name}_right) / ({name}_left + {name}_right), divided by its standard deviation",
            "coefficient": float(b),
            "ci_lower": float(b - bt.Z_95 * s),
            "ci_upper": float(b + bt.Z_95 * s),
            "feature_sd": float(sd),
            "coefficient_per_unit_difference": float(b / sd),
        }
        for name, b, s, sd in zip(STYLE_FEATURES, fit.beta, fit.beta_se(), fit.feature_scale, strict=True)
    ]


# ------------------------------------------------------------------------------------------------
# Segment boards


def segment_counts(cells: pd.DataFrame, known: set[str]) -> list[tuple[str, bt.PairCounts | None]]:
    """Each value of one dimension (sorted) with its fit-ready counts among the `known` models (None:
    no vote between two of them). One fold and one sort of every value's cells, then a slice per value:
    per value, the same counts as pair_counts_from_frame of its cells (a test holds them equal)."""
    values = cells.groupby("segment_value", sort=True).size().index
    valued = cells["segment_value"].notna()  # what a groupby drops: never folded (nor its labels judged)
    inside = cells[valued & cells["model_left"].isin(known) & cells["model_right"].isin(known)]
    folded = _folded_cells(inside, by=("segment_value",))
    counts = {value: _pair_counts(part) for value, part in folded.groupby("segment_value", sort=True)}
    return [(value, counts.get(value)) for value in values]


def choose_shrinkage(
    cells: pd.DataFrame,
    overall: Board,
    grid: tuple[float, ...] = SHRINKAGE_SD_GRID,
    folds: int = SegmentSettings.folds,
    seed: int = 0,
    notes: list[str] | None = None,
) -> tuple[float, dict[str, float]]:
    """The prior sd whose shrunk fits predict held-out votes best, over every value of one dimension
    (`cells`: segment_value, model_left, model_right, winner, n); see `choose_shrinkage_of`."""
    prior_of = dict(zip(overall.frame["model_id"], overall.frame["theta"], strict=True))
    return choose_shrinkage_of(segment_counts(cells, set(prior_of)), prior_of, grid, folds, seed, notes)


def choose_shrinkage_of(
    segments: list[tuple[str, bt.PairCounts | None]],
    prior_of: dict[str, float],
    grid: tuple[float, ...] = SHRINKAGE_SD_GRID,
    folds: int = SegmentSettings.folds,
    seed: int = 0,
    notes: list[str] | None = None,
) -> tuple[float, dict[str, float]]:
    """The shrinkage rule of every segment board: the prior sd whose shrunk fits predict held-out votes
    best, over every value of one dimension (`segments` from `segment_counts`, or a style segment's
    counts with their offsets; `prior_of`: the overall board's θ per model).

    Each cell's count is split at random into `folds` parts (multinomially, like assigning each vote
    to a fold); each part is predicted by the fit on the others. Of the sds whose held-out
    log-likelihood is within SHRINKAGE_TOLERANCE_NATS of the best, the largest is chosen: where the
    held-out votes cannot tell two sds apart, the segment boards do not claim the smaller departure
    (a flat curve once chose 0.02, and a segment of twelve tie votes inherited the overall board's
    order). Returns (chosen sd, held-out log-likelihood per sd); the fold fits' fallbacks are appended
    to `notes`, once each."""
    rng = np.random.default_rng(seed)

    def jobs() -> Iterator[tuple]:
        for _, counts in segments:
            if counts is not None:
                # one draw per cell, in cell order (the same stream as a loop over the cells, without the loop)
                split = rng.multinomial(counts.count.astype(np.int64), [1.0 / folds] * folds).astype(float)
                yield counts, np.array([prior_of[m] for m in counts.models]), split

    scores = dict.fromkeys(grid, 0.0)
    for per_segment in in_order(_heldout_scores, jobs(), grid, folds):
        for sd, value, fit_notes in per_segment:  # added in the order one loop over segments would add them
            scores[sd] += value
            for text in fit_notes if notes is not None else ():
                if f"choosing the shrinkage: {text}" not in notes:
                    notes.append(f"choosing the shrinkage: {text}")
    best = max(scores.values())
    chosen = max(sd for sd in grid if scores[sd] >= best - SHRINKAGE_TOLERANCE_NATS)
    return chosen, {f"{sd:g}": round(v, 3) for sd, v in scores.items()}


def _heldout_scores(
    counts: bt.PairCounts, prior: np.ndarray, split: np.ndarray, grid: tuple[float, ...], folds: int
) -> list[tuple[float, float, list[str]]]:
    """One segment's (sd, held-out log-likelihood, fit notes) per fold and sd, folds in order, sds ascending.
    Each fold's fits and its score read only the cells they count (`PairCounts.counted`)."""
    out, sds = [], sorted(grid)
    for f in range(folds):
        if split[:, f].sum() == 0:
            continue
        train, test = counts.counted(counts.count - split[:, f]), counts.counted(split[:, f])
        # each fit starts at the optimum of the next stronger pull (warm start)
        path = bt.shrunk_path(train, prior, [1.0 / sd**2 for sd in sds], tol=1e-8)
        out.extend(
            (sd, bt.heldout_loglik(test, theta), notes) for sd, (theta, notes) in zip(sds, path, strict=True)
        )
    return out


def fit_workers() -> int:
    """Threads for independent segment fits: the cores this process may use (settings.default_threads).
    numpy releases the GIL in the passes over rows that are most of a fit, so two cores fit two segments
    at once."""
    return int(default_threads())


def in_order(work: Callable, jobs: Iterable[tuple], *shared, window: int | None = None) -> Iterator:
    """`work(*job, *shared)` for each job, on fit_workers() threads, yielded in the jobs' order (so sums and
    notes come out as one loop's would); at most `window` jobs (default twice the threads) are drawn
    ahead, so the jobs' inputs are not all held at once. Jobs are drawn on this thread, in order (a random
    stream drawn in them stays the one a loop draws)."""
    workers = fit_workers()
    if workers == 1:
        for job in jobs:
            yield work(*job, *shared)
        return
    pending: deque[Future] = deque()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="segment-fits")
    try:
        for job in jobs:
            pending.append(pool.submit(work, *job, *shared))
            if len(pending) >= (window or 2 * workers):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:  # a failed fit, an interrupt or a consumer that stops: the jobs not started never start
        pool.shutdown(wait=True, cancel_futures=True)


def build_segment_boards(
    cells: pd.DataFrame,
    stats: pd.DataFrame,
    overall: Board,
    segment_dim: str,
    prior_sd: float,
    thresholds: Thresholds = Thresholds(),
    *,
    bootstrap_rounds: int = 0,
    seed: int = 0,
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """One raw board per value of `segment_dim`, shrunk towards the overall board with prior sd `prior_sd`.

    `cells`: segment_value, model_left, model_right, winner, n. `stats`: segment_value, model_id,
    votes, users, top_user_share. See `segment_boards`."""
    prior_of = set(overall.frame["model_id"])
    return segment_boards(
        segment_counts(cells, prior_of),
        stats,
        overall,
        segment_dim,
        prior_sd,
        thresholds,
        bootstrap_rounds=bootstrap_rounds,
        seed=seed,
        notes=notes,
    )


def dimension_boards(
    cells: pd.DataFrame,
    stats: pd.DataFrame,
    overall: Board,
    segment_dim: str,
    thresholds: Thresholds = Thresholds(),
    *,
    prior_sd: float | None = None,
    folds: int = SegmentSettings.folds,
    bootstrap_rounds: int = 0,
    seed: int = 0,
    notes: list[str] | None = None,
) -> tuple[pd.DataFrame, float | None, dict[str, float]]:
    """Every raw board of one dimension: (the boards, the prior sd, the held-out scores that chose it).
    The prior sd is `prior_sd` when given, else chosen by held-out likelihood (choose_shrinkage_of). The
    cells are folded once (segment_counts) for both steps. `cells` and `stats` as in build_segment_boards."""
    if cells.empty:
        return pd.DataFrame(columns=[*LEADERBOARD_COLUMNS, "theta", "se"]), None, {}
    segments = segment_counts(cells, set(overall.frame["model_id"]))
    scores: dict[str, float] = {}
    if prior_sd is None:
        prior_of = dict(zip(overall.frame["model_id"], overall.frame["theta"], strict=True))
        prior_sd, scores = choose_shrinkage_of(segments, prior_of, folds=folds, seed=seed, notes=notes)
    frame = segment_boards(
        segments,
        stats,
        overall,
        segment_dim,
        prior_sd,
        thresholds,
        bootstrap_rounds=bootstrap_rounds,
        seed=seed,
        notes=notes,
    )
    return frame, prior_sd, scores


def segment_boards(
    segments: list[tuple[str, bt.PairCounts | None]],
    stats: pd.DataFrame,
    overall: Board,
    segment_dim: str,
    prior_sd: float,
    thresholds: Thresholds = Thresholds(),
    *,
    board: str = "raw",
    bootstrap_rounds: int = 0,
    seed: int = 0,
    method: str = "",
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """One `board` per segment value, each shrunk towards `overall` (the board of the same kind) with
    prior sd `prior_sd`: the one segment rule of the raw and the style segment boards.

    Each row keeps the unshrunk estimate (NaN where the segment alone cannot rate the model) and the
    difference from the overall rating with its 95% interval; `method` is appended to ci_method. The
    fits' fallbacks are appended to `notes` (each prefixed with its segment). A prior sd that is not a
    positive finite number is refused: 0 divided by zero, a negative one ran as its absolute value, and an
    infinite one (no shrinkage) gave a model a zero-width interval from two tie votes. So is one whose pull
    1/sd² is not a positive finite number (above ~1e154 it underflows to 0, below ~1e-154 it overflows):
    the shrunk fit needs a pull to set its level."""
    with np.errstate(over="ignore", divide="ignore"):
        pull = 1.0 / np.float64(prior_sd) ** 2 if np.isfinite(prior_sd) and prior_sd > 0 else np.nan
    if not (np.isfinite(pull) and pull > 0):
        raise ValueError(
            f"the segment boards' prior sd must be a positive finite number of logits whose pull 1/sd² is "
            f"one too, not {prior_sd}"
        )
    prior_of = dict(zip(overall.frame["model_id"], overall.frame["theta"], strict=True))
    prior_se_of = dict(zip(overall.frame["model_id"], overall.frame["se"], strict=True))
    unmeasured = unmeasured_overall(overall)
    rating_prior_var = 1.0 / overall.extra.get("prior_precision", bt.RATING_PRIOR_PRECISION)
    context = _SegmentContext(
        overall, prior_of, prior_se_of, unmeasured, rating_prior_var, stats, thresholds, segment_dim, prior_sd,
        board, bootstrap_rounds, seed, method,
    )  # fmt: skip
    jobs = ((k, value, counts) for k, (value, counts) in enumerate(segments) if counts is not None)
    frames = []
    for value, frame, fit_notes in in_order(_segment_board, jobs, context):  # each segment alone, in order
        frames.append(frame)
        if notes is not None:
            notes.extend(f"{segment_dim} = {value}: {n}" for n in fit_notes)
    if not frames:
        return pd.DataFrame(columns=[*LEADERBOARD_COLUMNS, "theta", "se"])
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class _SegmentContext:
    """What every segment board of one dimension shares (segment_boards)."""

    overall: Board
    prior_of: dict
    prior_se_of: dict
    unmeasured: dict
    rating_prior_var: float
    stats: pd.DataFrame
    thresholds: Thresholds
    segment_dim: str
    prior_sd: float
    board: str
    bootstrap_rounds: int
    seed: int
    method: str


def _segment_board(k: int, value, counts: bt.PairCounts, c: _SegmentContext) -> tuple:
    """(value, the board of segment value number k, its fits' notes): everything it draws is seeded by k."""
    prior = np.array([c.prior_of[m] for m in counts.models])
    prior_var = np.array([c.prior_se_of[m] for m in counts.models]) ** 2
    loose = np.array([m in c.unmeasured for m in counts.models])
    fit_notes: list[str] = []
    columns = _segment_estimates(
        counts,
        prior,
        c.prior_sd,
        c.bootstrap_rounds,
        c.seed + k,
        fit_notes,
        prior_var,
        loose,
        c.rating_prior_var,
    )
    columns["method"] += c.method
    unshrunk, reasons, main = _segment_unshrunk(counts, prior, start=columns["theta"])
    for m in set(counts.models) & set(c.unmeasured):
        why = f"its overall rating, this segment's prior, is not measured ({c.unmeasured[m]})"
        reasons[m] = f"{reasons[m]}; {why}" if m in reasons else why
    frame = _segment_frame(counts, c.overall, columns, unshrunk, c.segment_dim, str(value), c.board)
    _add_rank_columns(  # ranks within (segment value, component): one scale each
        frame,
        columns["theta"],
        fit_notes,
        thetas=columns.get("thetas"),
        cov=columns["cov"],
        seed=c.seed + k,
        groups=frame["component"].to_numpy(),
    )
    # Significant: the difference's 95% interval clears 0 by more than rounding (a bootstrap of a
    # shrunk fit puts replicates exactly on the prior when a model has no votes in them), and
    # only for rows that are not provisional: a thin row is shown, never called a finding.
    frame["differs_from_overall"] = (frame["diff_lower"] > 0.05) | (frame["diff_upper"] < -0.05)
    provisional_reasons(frame, c.stats[c.stats["segment_value"] == value], c.thresholds, reasons)
    frame.loc[~frame["model_id"].isin(main) | frame["provisional"], "differs_from_overall"] = False
    return value, _finish(frame), fit_notes


def _segment_estimates(
    counts: bt.PairCounts,
    prior: np.ndarray,
    prior_sd: float,
    rounds: int,
    seed: int,
    notes: list[str],
    prior_var: np.ndarray | None = None,
    unmeasured: np.ndarray | None = None,
    unmeasured_var: float = 0.0,
) -> dict:
    """The shrunk fit of one segment: θ, its standard error, the published interval and the
    interval of the difference from the overall board (logits), and how the interval was made.

    The published interval, the standard error and the rank analysis are about the segment's own
    ratings, so they count what the shrinkage does not know: the segment's departure from the overall
    board (variance prior_sd², the shrinkage model's) and the overall board's own error (`prior_var`,
    its se²), through `ShrunkFit.departure_cov`. The bootstrap's replicates hold the prior fixed, so each
    is widened by one draw of that covariance (seeded). The difference from the overall board is a test
    of "this segment departs", made under "it does not": its interval keeps the prior fixed.

    A model whose overall rating its votes do not bound (`unmeasured`, a mask) has as prior error the
    rating prior's own variance (`unmeasured_var`), not its se. That enters the rank analysis (contrasts:
    no level) and the model's own interval; the other models' intervals keep their measured prior errors,
    since through the segment's level convention (the mean over its models) an unbounded prior would
    otherwise widen every interval of the segment alike while telling nothing about any of them."""
    penalty = 1.0 / prior_sd**2
    shrunk = bt.fit_shrunk(counts, prior, penalty)
    notes.extend(shrunk.notes)
    departure = shrunk.departure_cov(prior_var)
    loose = unmeasured is not None and bool(unmeasured.any())
    ranked = shrunk.departure_cov(np.where(unmeasured, unmeasured_var, prior_var)) if loose else departure
    if not (np.isfinite(departure).all() and np.isfinite(ranked).all()):  # no interval, no ranks
        notes.append("the overall board's standard errors are not finite: no interval, no ranks")
    own = unmeasured if loose else np.zeros(counts.n_models, dtype=bool)
    cov = shrunk.cov + ranked
    se = np.sqrt(np.clip(np.where(own, np.diag(cov), np.diag(shrunk.cov + departure)), 0.0, None))
    fixed_se = np.sqrt(np.clip(np.diag(shrunk.cov), 0.0, None))
    out = {"theta": shrunk.theta, "prior": prior, "se": se, "cov": cov}
    out["sandwich"] = (shrunk.theta - bt.Z_95 * se, shrunk.theta + bt.Z_95 * se)
    counted = f"shrunk (prior sd {prior_sd:g}; the departure from the overall board and its error counted)"
    if rounds > 0:
        free = np.ones(counts.n_models, dtype=bool)
        thetas = bt.bootstrap_thetas(
            counts, shrunk.theta, rounds, seed, free=free, prior=prior, penalty=penalty, notes=notes
        )
        if np.isfinite(departure).all() and np.isfinite(ranked).all():
            rng = np.random.default_rng([seed, SEGMENT_DEPARTURE_STREAM])
            widened = thetas + rng.multivariate_normal(
                np.zeros(counts.n_models), departure, rounds, method="eigh"
            )
            out["thetas"] = (
                thetas + rng.multivariate_normal(np.zeros(counts.n_models), ranked, rounds, method="eigh")
                if loose
                else widened
            )
            out["interval"] = tuple(
                np.quantile(np.where(own, out["thetas"], widened), [0.025, 0.975], axis=0)
            )
        else:  # the rank columns are then left empty (their covariance is not finite)
            out["interval"] = (np.full(counts.n_models, np.nan), np.full(counts.n_models, np.nan))
        out["diff"] = tuple(np.quantile(thetas - prior, [0.025, 0.975], axis=0))
        out["method"] = f"bootstrap percentile ({rounds} rounds, seed {seed}), {counted}"
    else:
        out["interval"] = out["sandwich"]
        out["diff"] = (shrunk.theta - prior - bt.Z_95 * fixed_se, shrunk.theta - prior + bt.Z_95 * fixed_se)
        out["method"] = f"sandwich, {counted}"
    return out


def _segment_unshrunk(
    counts: bt.PairCounts, prior: np.ndarray, start: np.ndarray | None = None
) -> tuple[np.ndarray, dict[str, str], set[str]]:
    """(the segment's own estimate on the overall scale or NaN, why a model is provisional here, the
    models of the segment's main connected part). `start`: where the fit starts (the shrunk θ, nearer the
    optimum than the prior: on ten million style rows this fit was a third of the segment boards' time)."""
    reasons: dict[str, str] = {}
    groups = bt.components(counts)
    for g in groups[1:]:
        for m in g:
            reasons[m] = "not connected to the rest of this segment's comparisons"
    if bt.mle_exists(counts) and len(groups) == 1:
        return bt.shrunk_theta(counts, prior, UNSHRUNK_PENALTY, start=start)[0], reasons, set(groups[0])
    for m in counts.models:
        reasons.setdefault(
            m, "the segment alone cannot rate it (a model that never wins or loses here); shown shrunk"
        )
    return np.full(counts.n_models, np.nan), reasons, set(groups[0])


def _segment_frame(
    counts: bt.PairCounts,
    overall: Board,
    est: dict,
    unshrunk: np.ndarray,
    segment_dim: str,
    value: str,
    board: str = "raw",
) -> pd.DataFrame:
    """One segment's rows in Elo. A model keeps its overall component: the prior (its overall θ) is on
    that component's scale, and a segment's votes, a subset of the overall votes, never link two."""
    rows = overall.frame.set_index("model_id")
    component_of = rows.get("component", pd.Series(1, index=rows.index))
    component_anchor_of = rows.get("component_anchor", pd.Series(overall.anchor, index=rows.index))
    base, scale = overall.anchor_rating, bt.ELO_SCALE
    theta, prior = est["theta"], est["prior"]
    return pd.DataFrame(
        {
            "board": board,
            "segment_dim": segment_dim,
            "segment_value": value,
            "model_id": list(counts.models),
            "rating": base + scale * theta,
            "ci_lower": base + scale * est["interval"][0],
            "ci_upper": base + scale * est["interval"][1],
            "ci_method": est["method"],
            "sandwich_lower": base + scale * est["sandwich"][0],
            "sandwich_upper": base + scale * est["sandwich"][1],
            "rating_unshrunk": base + scale * unshrunk,
            "diff_vs_overall": scale * (theta - prior),
            "diff_lower": scale * est["diff"][0],
            "diff_upper": scale * est["diff"][1],
            "theta": theta,
            "se": est["se"],
            "component": component_of.reindex(list(counts.models)).to_numpy(),
            "component_anchor": component_anchor_of.reindex(list(counts.models)).to_numpy(),
        }
    )
