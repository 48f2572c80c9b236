"""Fraud and collusion checks (DESIGN §4) on per-voter statistics aggregated in SQL.

Each check returns flag rows (user_id, check_name, score, p_value, reason, excluded). Thresholds are
`IntegrityThresholds`. Measured false-positive rates (bench/bench_integrity.py, four 150k-vote demo
worlds, 50,000 honest voters in all): 2 honest voters flagged in total, both by
coordinated_favouritism (0.004%); every other check flagged none. On a 10M-vote demo world (833,333
honest voters): none. Integrity sees only the landing
zone: never the demo's truth files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from showdown_pipeline.core import bradley_terry as bt

FLAG_COLUMNS = ("user_id", "check_name", "score", "p_value", "reason", "excluded")


@dataclass(frozen=True)
class IntegrityThresholds:
    alpha: float = 0.01  # family-wise error rate of each check (Bonferroni over the voters tested)
    # bots: time-to-vote below min_seconds + reading both answers at max_tokens_per_second
    min_seconds: float = 1.0
    max_tokens_per_second: float = 60.0
    too_fast_min_votes: int = 10
    too_fast_share: float = 0.5
    # bots: time-to-vote too regular for a person (coefficient of variation)
    regular_min_votes: int = 20
    regular_max_cv: float = 0.1
    daily_cap: int = 400  # votes by one voter in one UTC day
    # position bias: always-left / always-right among decided votes
    position_min_votes: int = 30
    position_min_gap: float = 0.35  # |left share − population left share|
    # favouritism: a model scoring far above what the ratings expect when this voter sees it
    favour_min_seen: int = 8
    favour_min_excess: float = 0.3  # (score − expected) / seen
    favour_z: float = 4.5
    # coordinated favouritism: many voters who each gave one model all their sightings outright
    sweep_min_seen: int = 4
    sweep_max_p: float = 0.02  # a voter's chance of sweeping honestly, at most
    sweep_min_users: int = 5
    # a campaign at least doubles the sweeps honest voters produce: tastes the preliminary ratings do
    # not model (country, language, profession …) put honest sweeps at 1.2–1.7× the expectation on
    # the 10M-vote demo world, which a Poisson test alone flags once there are enough voters
    sweep_min_ratio: float = 2.0
    # outcome anomaly (Chatbot Arena §5.1): Fisher's method at secret checkpoints
    anomaly_min_votes: int = 20
    anomaly_max_checkpoint: int = 200
    anomaly_checkpoints: int = 3
    anomaly_min_excess: float = 0.3  # mean log-probability per vote below a typical voter's
    upset_max_p: float = 0.1  # a winner this unlikely marks the vote for review (never dropped)
    # collusion: voters linked by shared ip/device hashes who, pooled, favour one model
    ring_min_size: int = 3
    ring_max_group: int = 50
    ring_z: float = 4.0
    # prompt flooding by one voter
    flood_share: float = 0.5
    flood_min_votes: int = 20


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(FLAG_COLUMNS))


def too_fast(stats: pd.DataFrame, t: IntegrityThresholds) -> pd.DataFrame:
    from scipy.stats import binom

    timed = stats[stats["timed"] >= t.too_fast_min_votes]
    if timed.empty:
        return _frame([])
    base = max(float(stats["too_fast"].sum()) / max(float(stats["timed"].sum()), 1.0), 0.01)
    p = binom.sf(timed["too_fast"] - 1, timed["timed"], base)
    share = timed["too_fast"] / timed["timed"]
    hit = (share >= t.too_fast_share) & (p < t.alpha / len(timed))
    return _frame(
        [
            {
                "user_id": u,
                "check_name": "too_fast",
                "score": float(s),
                "p_value": float(pv),
                "excluded": True,
                "reason": f"{int(k)} of {int(n)} votes faster than reading both answers (population rate {base:.1%})",
            }
            for u, s, pv, k, n in zip(
                timed["user_id"][hit],
                share[hit],
                p[hit],
                timed["too_fast"][hit],
                timed["timed"][hit],
                strict=True,
            )
        ]
    )


def inhuman_regularity(stats: pd.DataFrame, t: IntegrityThresholds) -> pd.DataFrame:
    """Scripted voters: time-to-vote that barely varies (a person reading answers of different lengths
    does not answer in the same time twice)."""
    s = stats[(stats["timed"] >= t.regular_min_votes) & (stats["ttv_cv"] < t.regular_max_cv)]
    return _frame(
        [
            {
                "user_id": u,
                "check_name": "inhuman_regularity",
                "score": float(cv),
                "p_value": None,
                "excluded": True,
                "reason": f"time-to-vote varies by {cv:.0%} over {int(n)} votes",
            }
            for u, cv, n in zip(s["user_id"], s["ttv_cv"], s["timed"], strict=True)
        ]
    )


def daily_volume(stats: pd.DataFrame, t: IntegrityThresholds) -> pd.DataFrame:
    hit = stats[stats["max_daily"] > t.daily_cap]
    return _frame(
        [
            {
                "user_id": u,
                "check_name": "daily_volume",
                "score": float(n),
                "p_value": None,
                "excluded": True,
                "reason": f"{int(n)} votes in one day (cap {t.daily_cap})",
            }
            for u, n in zip(hit["user_id"], hit["max_daily"], strict=True)
        ]
    )


def position_bias(stats: pd.DataFrame, t: IntegrityThresholds) -> pd.DataFrame:
    from scipy.stats import binom

    tested = stats[stats["decided"] >= t.position_min_votes]
    if tested.empty:
        return _frame([])
    base = float(stats["left_wins"].sum()) / max(float(stats["decided"].sum()), 1.0)
    k, n = tested["left_wins"].to_numpy(), tested["decided"].to_numpy()
    p = np.minimum(1.0, 2 * np.minimum(binom.cdf(k, n, base), binom.sf(k - 1, n, base)))
    share = k / n
    hit = (np.abs(share - base) >= t.position_min_gap) & (p < t.alpha / len(tested))
    return _frame(
        [
            {
                "user_id": u,
                "check_name": "position_bias",
                "score": float(s),
                "p_value": float(pv),
                "excluded": True,
                "reason": f"chose the left answer in {int(kk)} of {int(nn)} decided votes (population {base:.0%})",
            }
            for u, s, pv, kk, nn in zip(
                tested["user_id"][hit], share[hit], p[hit], k[hit], n[hit], strict=True
            )
        ]
    )


def _z(score, expected, variance):
    return (score - expected) / np.sqrt(np.maximum(variance, 1e-9))


def favouritism(scores: pd.DataFrame, t: IntegrityThresholds) -> pd.DataFrame:
    """Per (voter, model): the model's score when this voter sees it against what the ratings expect."""
    from scipy.stats import norm

    s = scores[scores["seen"] >= t.favour_min_seen].copy()
    if s.empty:
        return _frame([])
    s["z"] = _z(s["score"], s["expected"], s["variance"])
    s["excess"] = (s["score"] - s["expected"]) / s["seen"]
    hit = s[(s["z"] >= t.favour_z) & (s["excess"] >= t.favour_min_excess)]
    hit = hit.sort_values("z", ascending=False).drop_duplicates("user_id")
    return _frame(
        [
            {
                "user_id": r.user_id,
                "check_name": "favouritism",
                "score": float(r.z),
                "p_value": float(norm.sf(r.z)),
                "excluded": True,
                "reason": f"{r.model_id} scored {r.score:.1f} of {int(r.seen)} when shown to this voter; ratings expect {r.expected:.1f}",
            }
            for r in hit.itertuples(index=False)
        ]
    )


def rings(shared: pd.DataFrame, scores: pd.DataFrame, t: IntegrityThresholds) -> pd.DataFrame:
    """Voters linked by shared network/device hashes (connected components of at least ring_min_size)
    who, pooled, favour one model: every member gets its own row."""
    from scipy.stats import norm

    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for users in shared["users"]:
        users = list(users)
        for other in users[1:]:
            ra, rb = find(users[0]), find(other)
            if ra != rb:
                parent[ra] = rb
    groups: dict[str, list[str]] = {}
    for user in parent:
        groups.setdefault(find(user), []).append(user)
    rows = []
    for members in groups.values():
        if len(members) < t.ring_min_size:
            continue
        pooled = (
            scores[scores["user_id"].isin(members)]
            .groupby("model_id")[["seen", "score", "expected", "variance"]]
            .sum()
        )
        if pooled.empty:
            continue
        pooled["z"] = _z(pooled["score"], pooled["expected"], pooled["variance"])
        pooled["excess"] = (pooled["score"] - pooled["expected"]) / pooled["seen"]
        best = pooled.sort_values("z", ascending=False).iloc[0]
        if best["z"] >= t.ring_z and best["excess"] >= t.favour_min_excess:
            model = pooled.sort_values("z", ascending=False).index[0]
            for m in sorted(members):
                rows.append(
                    {
                        "user_id": m,
                        "check_name": "collusion_ring",
                        "score": float(best["z"]),
                        "p_value": float(norm.sf(best["z"])),
                        "excluded": True,
                        "reason": f"one of {len(members)} accounts sharing network/device hashes that together favour {model} "
                        f"({best['score']:.1f} scored of {int(best['seen'])}, {best['expected']:.1f} expected)",
                    }
                )
    return _frame(rows)


def prompt_flooders(stats: pd.DataFrame, t: IntegrityThresholds) -> pd.DataFrame:
    s = stats[
        (stats["votes"] >= t.flood_min_votes) & (stats["top_prompt_votes"] / stats["votes"] >= t.flood_share)
    ]
    return _frame(
        [
            {
                "user_id": u,
                "check_name": "prompt_flooding",
                "score": float(k / n),
                "p_value": None,
                "excluded": True,
                "reason": f"{int(k)} of {int(n)} votes on one prompt",
            }
            for u, k, n in zip(s["user_id"], s["top_prompt_votes"], s["votes"], strict=True)
        ]
    )


# ------------------------------------------------------------------------------------------------
# Fragility: the fewest votes whose removal changes the #1 model (arXiv 2508.11847).


def fragility(counts: bt.PairCounts, anchor: str, max_removed: int = 100_000) -> dict:
    """Influence-guided estimate, confirmed by refitting.

    Each vote's first-order effect on θ_1 − θ_2 (the gap between #1 and #2) is −(e_1 − e_2)ᵀ H⁻¹ x (y − p);
    votes of a cell share it. Cells are removed greedily, most damaging first, until the predicted gap
    closes; the removal is then refitted and grown until #1 actually changes."""
    fit = bt.fit_bradley_terry(counts, anchor)
    order = np.argsort(-fit.theta)
    first, second = int(order[0]), int(order[1])
    gap = fit.theta[first] - fit.theta[second]
    m = counts.n_models
    design = bt.design_matrix(counts)
    p = 1 / (1 + np.exp(-(design @ fit.theta)))
    hess = bt.PairModel.of_counts(counts).information(counts.count * p * (1 - p)) + 1e-9 * np.eye(m)
    contrast = np.zeros(m)
    contrast[first], contrast[second] = 1.0, -1.0
    direction = np.linalg.solve(hess, contrast)  # H⁻¹ (e1 − e2)
    per_vote = (design @ direction) * (counts.score - p)  # removing a vote changes the gap by −this
    order_cells = np.argsort(-per_vote)
    removed = np.zeros(len(counts.count))
    predicted, total = 0.0, 0
    for c in order_cells:
        if per_vote[c] <= 0 or predicted >= gap or total >= max_removed:
            break
        need = int(np.ceil((gap - predicted) / per_vote[c]))
        take = int(min(need, counts.count[c], max_removed - total))
        removed[c] = take
        predicted += take * per_vote[c]
        total += take
    estimate = total
    for _ in range(60):  # confirm by refitting; grow the removal until #1 changes
        kept = bt.PairCounts(counts.models, counts.left, counts.right, counts.score, counts.count - removed)
        refit = bt.fit_bradley_terry(kept, anchor, ridge=1e-9)
        if int(np.argmax(refit.theta)) != first:
            return {
                "top_model": counts.models[first],
                "runner_up": counts.models[second],
                "gap_elo": float(gap * bt.ELO_SCALE),
                "votes_to_flip_estimate": estimate,
                "votes_to_flip_confirmed": int(removed.sum()),
                "new_top_model": counts.models[int(np.argmax(refit.theta))],
                "total_votes": int(counts.count.sum()),
            }
        grow = max(1, int(0.1 * removed.sum()))
        for c in order_cells:
            if per_vote[c] <= 0 or grow <= 0:
                break
            room = counts.count[c] - removed[c]
            take = min(room, grow)
            removed[c] += take
            grow -= take
        if removed.sum() >= min(max_removed, counts.count.sum() - 1):
            break
    return {
        "top_model": counts.models[first],
        "runner_up": counts.models[second],
        "gap_elo": float(gap * bt.ELO_SCALE),
        "votes_to_flip_estimate": estimate,
        "votes_to_flip_confirmed": None,
        "note": f"no flip found within {int(removed.sum())} removed votes",
        "total_votes": int(counts.count.sum()),
    }


def coordinated_sweeps(
    sweeps: pd.DataFrame, t: IntegrityThresholds, already: set[str] | None = None
) -> pd.DataFrame:
    """Boosters too thin to catch one by one: for each model, the voters who handed it every one of
    their (≥ sweep_min_seen) sightings outright, against how many honest voters would (Σ of each
    voter's probability of such a sweep). A model with far more sweepers than expected (Poisson
    test, Bonferroni over models, and at least `sweep_min_ratio` times as many) has a campaign
    behind it; its sweepers are flagged. Honest voters
    who swept it by luck are flagged with them: about `expected` of them, which the reason states."""
    from scipy.stats import poisson

    # voters already caught one by one are explained; the campaign test looks at the rest, so once
    # the boosters are caught individually, honest chance sweepers are not flagged with them
    s = sweeps[(sweeps["seen"] >= t.sweep_min_seen) & ~sweeps["user_id"].isin(already or set())]
    # only sightings an honest voter would rarely sweep count, on both sides of the comparison
    s = s.assign(p_sweep=np.exp(s["log_p_sweep"]))
    s = s[s["p_sweep"] <= t.sweep_max_p]
    if s.empty:
        return _frame([])
    s = s.assign(swept=s["outright_wins"] == s["seen"])
    per_model = s.groupby("model_id").agg(observed=("swept", "sum"), expected=("p_sweep", "sum"))
    per_model["p_value"] = poisson.sf(per_model["observed"] - 1, per_model["expected"])
    n_models = max(len(per_model), 1)
    campaigns = per_model[
        (per_model["p_value"] < t.alpha / n_models)
        & (per_model["observed"] >= t.sweep_min_users)
        & (per_model["observed"] >= t.sweep_min_ratio * per_model["expected"])
    ]
    rows = []
    for model, c in campaigns.iterrows():
        for user in sorted(s.loc[s["swept"] & (s["model_id"] == model), "user_id"]):
            rows.append(
                {
                    "user_id": user,
                    "check_name": "coordinated_favouritism",
                    "score": float(c["observed"] / max(c["expected"], 1e-9)),
                    "p_value": float(c["p_value"]),
                    "excluded": True,
                    "reason": f"one of {int(c['observed'])} voters who gave {model} every one of their sightings outright "
                    f"({c['expected']:.1f} expected by chance)",
                }
            )
    return _frame(rows).drop_duplicates("user_id")


def outcome_anomaly(surprise: pd.DataFrame, t: IntegrityThresholds, seed: int) -> pd.DataFrame:
    """Chatbot Arena §5.1: Fisher's method over each voter's first k votes (each vote's probability
    given everyone else's votes on that pair), at a few checkpoints k drawn from `seed` (kept out of
    the public manifest so manipulators cannot aim between them), Bonferroni over voters × checkpoints.
    Flags voters whose outcomes are jointly too improbable — random clickers and contrarians."""
    from scipy.stats import chi2

    rng = np.random.default_rng(seed)
    checkpoints = sorted(
        {
            int(k)
            for k in rng.integers(t.anomaly_min_votes, t.anomaly_max_checkpoint, size=t.anomaly_checkpoints)
        }
    )
    if surprise.empty:
        return _frame([])
    s = surprise.sort_values(["user_id", "k"])
    s["cum"] = s.groupby("user_id")["log_p"].cumsum()
    # the same test on a vote that matched the consensus: the expected log-probability per vote
    baseline = float(surprise["log_p"].mean())
    rows, tests = {}, 0
    for k in checkpoints:
        at_k = s[s["k"] == k]
        tests += len(at_k)
        for user, cum in zip(at_k["user_id"], at_k["cum"], strict=True):
            stat = -2.0 * cum
            p = float(chi2.sf(stat, 2 * k))
            excess = (cum / k) - baseline  # how much less likely than a typical voter's outcomes
            if user not in rows or p < rows[user][0]:
                rows[user] = (p, k, excess)
    limit = t.alpha / max(tests, 1)
    flagged = [
        {
            "user_id": u,
            "check_name": "outcome_anomaly",
            "score": float(-e),
            "p_value": p,
            "excluded": True,
            "reason": f"outcomes of the first {k} votes improbable given everyone else's (Fisher p = {p:.1e})",
        }
        for u, (p, k, e) in rows.items()
        if p < limit and e < -t.anomaly_min_excess
    ]
    return _frame(flagged)


def disfavouring(scores: pd.DataFrame, t: IntegrityThresholds) -> pd.DataFrame:
    """Omnipresent rigging (arXiv 2501.17858): a voter who drags a few models far below what the
    ratings expect whenever they appear — pushing down a target's neighbours instead of boosting it."""
    from scipy.stats import norm

    s = scores[scores["seen"] >= t.favour_min_seen].copy()
    if s.empty:
        return _frame([])
    s["z"] = _z(s["score"], s["expected"], s["variance"])
    s["excess"] = (s["score"] - s["expected"]) / s["seen"]
    hit = s[(s["z"] <= -t.favour_z) & (s["excess"] <= -t.favour_min_excess)]
    hit = hit.sort_values("z").drop_duplicates("user_id")
    return _frame(
        [
            {
                "user_id": r.user_id,
                "check_name": "disfavouring",
                "score": float(-r.z),
                "p_value": float(norm.cdf(r.z)),
                "excluded": True,
                "reason": f"{r.model_id} scored {r.score:.1f} of {int(r.seen)} when shown to this voter; ratings expect {r.expected:.1f}",
            }
            for r in hit.itertuples(index=False)
        ]
    )
