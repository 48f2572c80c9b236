"""A synthetic showdown world that behaves like a real one, adversaries included (`showdown demo-data`).

It writes a landing zone in exactly the canonical formats of DESIGN §2 (votes/, contributors/,
models.csv) plus a truth folder the pipeline never reads. Deterministic for a seed; generated one
day at a time, so memory is bounded by one day's votes.

The outcome model, per vote: d = s_left − s_right + Σ β_k · (x_left − x_right)/(x_left + x_right)
± in-flow preference, where s is the model's strength for this voter (global + region + country +
language + age band + education + profession effects). With p = σ(d), a tie happens with
probability t = TIE_SCALE · 4p(1−p), and a non-tie is a left win with probability (p − t/2)/(1 − t).
So E[score] = p exactly: Bradley-Terry with ties as ½ estimates these strengths without bias.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from showdown_pipeline.core.demo_reference import (
    AGE_BAND_SHARES,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    EDUCATION_SHARES,
    EXTRA_LANGUAGES,
    PROFESSIONS,
    PROVIDERS,
)

# Style coefficients on the raw normalised differences (L−R)/(L+R); truth/params.json also gives
# them on the standardised scale the style-controlled board reports.
STYLE_COEFFICIENTS: dict[str, float] = {
    "tokens": 1.1,  # a large length bias: longer answers win more
    "headers": 0.12,
    "lists": 0.1,
    "bold": 0.08,  # markdown helps a little
    "latency_ms": -0.35,  # slow loading hurts
}
IN_FLOW_EFFECT = 0.08  # mild preference for the model the user was already chatting with
TIE_SCALE = 0.45  # ties (both_good + both_bad) make about a third of votes
CONVERSATION_IN_FIRST_LANGUAGE = 0.75  # otherwise English

ADVERSARY_KINDS: dict[str, float] = {  # share of adversarial votes by kind
    "bot": 0.2,
    "always_left": 0.15,
    "booster": 0.3,
    "collusion_ring": 0.25,
    "prompt_flooder": 0.1,
}
ADVERSARY_USERS: dict[str, int] = {
    "bot": 4,
    "always_left": 10,
    "booster": 15,
    "collusion_ring": 12,
    "prompt_flooder": 5,
}

CORRUPTION_KINDS: tuple[str, ...] = (
    "invalid_winner",
    "same_model_both_sides",
    "unregistered_model",
    "missing_required_field",
    "voted_after_export",
    "identities_visible",
    "response_error",
    "invalid_timestamp",
    "invalid_field",
)


@dataclass(frozen=True)
class WorldConfig:
    votes: int = 300_000
    days: int = 90
    end: date = date(2026, 11, 1)  # votes fall in [end − days, end): `--as-of end` sees them all
    seed: int = 7
    n_models: int = 40
    adversary_share: float = 0.04
    corrupt_rate: float = 0.0


@dataclass
class World:
    config: WorldConfig
    users: pd.DataFrame
    models: pd.DataFrame
    effects: dict[str, np.ndarray]
    regions: list[str]
    countries: list[str]
    languages: list[str]


def _ids(rng: np.random.Generator, prefix: str, n: int) -> list[str]:
    raw = rng.integers(0, 2**62, size=n, dtype=np.int64)
    out, seen = [], set()
    for value in raw:
        ident = f"{prefix}{int(value):016x}"
        while ident in seen:  # vanishingly rare; keeps ids unique
            ident = f"{prefix}{int(rng.integers(0, 2**62)):016x}"
        seen.add(ident)
        out.append(ident)
    return out


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _world_models(rng: np.random.Generator, config: WorldConfig, start: date) -> pd.DataFrame:
    """The models: names, strengths, release windows (some inside the window, some retired) and the anchor."""
    m = config.n_models
    providers = [PROVIDERS[k % len(PROVIDERS)] for k in range(m)]
    names = [
        f"{providers[k]}-{['lite', 'pro', 'max', 'chat', 'flash', 'ultra'][k % 6]}-{1 + k // 6}.{k % 3}"
        for k in range(m)
    ]
    strength = np.sort(rng.normal(0.0, 0.55, size=m))[::-1].copy()
    strength[1] = strength[0] - 0.1  # a close runner-up, so that region effects can reorder the top
    released = [start - timedelta(days=int(rng.integers(30, 400))) for _ in range(m)]
    deprecated: list[date | None] = [None] * m
    late = rng.choice(np.arange(1, m), size=max(1, m // 6), replace=False)  # released inside the window
    for k in late:
        released[k] = start + timedelta(
            days=int(rng.integers(config.days // 10, max(config.days // 10 + 1, config.days * 6 // 10)))
        )
    retired = rng.choice(np.setdiff1d(np.arange(m // 2, m), late), size=max(1, m // 12), replace=False)
    for k in retired:
        deprecated[k] = start + timedelta(days=int(rng.integers(config.days // 2, config.days)))
    # The anchor: a long-lived, mid-table model, first in models.csv.
    by_distance = np.argsort(np.abs(strength - np.median(strength)))
    anchor = next(int(k) for k in by_distance if k not in late and k not in retired)
    return pd.DataFrame(
        {
            "model_id": names,
            "display_name": [n.replace("-", " ").title() for n in names],
            "provider": providers,
            "released_at": released,
            "deprecated_at": deprecated,
            "strength": strength,
            "popularity": rng.lognormal(0.0, 0.5, size=m),
            "log_tokens": rng.normal(math.log(380), 0.35, size=m),
            "headers_rate": rng.gamma(2.0, 0.8, size=m),
            "lists_rate": rng.gamma(2.0, 1.0, size=m),
            "bold_rate": rng.gamma(2.0, 1.2, size=m),
            "log_latency": rng.normal(math.log(2500), 0.4, size=m),
            "is_anchor": np.arange(m) == anchor,
        }
    )


def _world_effects(rng: np.random.Generator, m: int, regions, countries, languages) -> dict[str, np.ndarray]:
    """Model × segment-value effects on the logit scale, with the planted findings: the runner-up leads in
    Europe; one model is relatively stronger off English."""
    eu_leader, polyglot = 1, int(m // 3)
    reg = rng.normal(0, 0.1, size=(m, len(regions)))
    eu = regions.index("europe")
    elsewhere = np.arange(len(regions)) != eu
    reg[eu_leader, eu] += 0.45
    reg[eu_leader, elsewhere] -= 0.1
    reg[0, eu] -= 0.25
    reg[0, elsewhere] += 0.1
    lang = rng.normal(0, 0.05, size=(m, len(languages)))
    non_en = np.array([lg != "en" for lg in languages])
    lang[polyglot, non_en] += 0.35
    return {
        "region": reg,
        "country": rng.normal(0, 0.04, size=(m, len(countries))),
        "language": lang,
        "age_band": rng.normal(0, 0.06, size=(m, len(AGE_BAND_SHARES))),
        "education": rng.normal(0, 0.05, size=(m, len(EDUCATION_SHARES))),
        "profession": rng.normal(0, 0.05, size=(m, len(PROFESSIONS))),
    }


def _honest_users(rng: np.random.Generator, config: WorldConfig, start: date, countries, regions, languages):
    """The honest contributors: demographics, weights, network and device hashes; a few households share
    a network (not a ring: they vote independently)."""
    n_honest = max(300, config.votes // 12)
    country_weight = np.array([COUNTRY_WEIGHTS.get(c, 1.0) for c in countries]) * rng.uniform(
        0.8, 1.2, len(countries)
    )
    country_idx = rng.choice(len(countries), size=n_honest, p=country_weight / country_weight.sum())
    first_lang = np.array([languages.index(COUNTRIES[countries[c]][1]) for c in country_idx])
    second = rng.random(n_honest) < 0.35
    second_lang = np.where(
        second, rng.choice([languages.index(x) for x in EXTRA_LANGUAGES], size=n_honest), -1
    )
    prof_weight = 1.0 / np.arange(1, len(PROFESSIONS) + 1) ** 0.8
    users = pd.DataFrame(
        {
            "user_id": _ids(rng, "u", n_honest),
            "kind": "honest",
            "target_model": None,
            "weight": rng.lognormal(0.0, 1.3, size=n_honest),
            "country": country_idx,
            "region": [regions.index(COUNTRIES[countries[c]][0]) for c in country_idx],
            "first_language": first_lang,
            "second_language": second_lang,
            "age_band": rng.choice(len(AGE_BAND_SHARES), size=n_honest, p=list(AGE_BAND_SHARES.values())),
            "education": rng.choice(len(EDUCATION_SHARES), size=n_honest, p=list(EDUCATION_SHARES.values())),
            "profession": rng.choice(len(PROFESSIONS), size=n_honest, p=prof_weight / prof_weight.sum()),
            "ip_hash": [_hash(f"ip-{config.seed}-{k}") for k in range(n_honest)],
            "device_hash": [_hash(f"dev-{config.seed}-{k}") for k in range(n_honest)],
            "account_created_at": [
                start - timedelta(days=int(d)) for d in rng.integers(1, 900, size=n_honest)
            ],
            "prompt_hash": None,
        }
    )
    shared = rng.choice(n_honest, size=n_honest // 50 * 2, replace=False).reshape(-1, 2)
    users.loc[shared[:, 1], "ip_hash"] = users.loc[shared[:, 0], "ip_hash"].to_numpy()
    return users


def build_world(config: WorldConfig) -> World:
    """Users, models and ground-truth effects; every draw comes from the seed (in this order: models,
    effects, honest users, adversaries)."""
    rng = np.random.default_rng(config.seed)
    start = config.end - timedelta(days=config.days)
    countries = sorted(COUNTRIES)
    regions = sorted({r for r, _ in COUNTRIES.values()})
    languages = sorted({lang for _, lang in COUNTRIES.values()} | set(EXTRA_LANGUAGES))
    models = _world_models(rng, config, start)
    effects = _world_effects(rng, len(models), regions, countries, languages)
    users = _honest_users(rng, config, start, countries, regions, languages)
    adversaries = _adversaries(rng, config, models, users, start)
    users = pd.concat([users, adversaries], ignore_index=True)
    return World(config, users, models, effects, regions, countries, languages)


def _adversaries(
    rng, config: WorldConfig, models: pd.DataFrame, honest: pd.DataFrame, start: date
) -> pd.DataFrame:
    if config.adversary_share <= 0:
        return honest.iloc[0:0]
    honest_weight = honest["weight"].sum()
    total_adv_weight = honest_weight * config.adversary_share / (1 - config.adversary_share)
    rows = []
    # Boosters and the ring push a lower-half model that is live the whole window.
    live = [
        k
        for k in range(len(models))
        if models.loc[k, "deprecated_at"] is None
        and models.loc[k, "released_at"] <= start
        and not models.loc[k, "is_anchor"]
    ]
    lower_half = [k for k in live if k >= len(models) // 2] or live
    boosted = models.loc[int(rng.choice(lower_half)), "model_id"]
    ring_ip = [_hash(f"ring-ip-{config.seed}-{k}") for k in range(2)]
    ring_dev = [_hash(f"ring-dev-{config.seed}-{k}") for k in range(2)]
    ring_created = start - timedelta(days=int(rng.integers(5, 40)))
    for kind, n in ADVERSARY_USERS.items():
        weight = total_adv_weight * ADVERSARY_KINDS[kind] / n
        template = honest.sample(n=n, random_state=int(rng.integers(2**31)), replace=len(honest) < n)
        for k, (_, base) in enumerate(template.iterrows()):
            row = base.to_dict()
            row.update(
                user_id=_ids(rng, "u", 1)[0],
                kind=kind,
                weight=weight * rng.uniform(0.8, 1.2),
                target_model=boosted if kind in ("booster", "collusion_ring") else None,
                ip_hash=_hash(f"adv-ip-{config.seed}-{kind}-{k}"),
                device_hash=_hash(f"adv-dev-{config.seed}-{kind}-{k}"),
            )
            if kind == "collusion_ring":
                row.update(
                    ip_hash=ring_ip[k % 2], device_hash=ring_dev[k % 2], account_created_at=ring_created
                )
            if kind == "prompt_flooder":
                row["prompt_hash"] = _hash(f"flood-{config.seed}-{k}")
            rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# votes


def _normalised_diff(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    total = left + right
    return np.divide(left - right, total, out=np.zeros_like(total, dtype=float), where=total > 0)


def _iso(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds as RFC 3339 UTC strings with millisecond precision."""
    millis = np.round(np.asarray(seconds, dtype=float) * 1000.0).astype(np.int64)
    return np.datetime_as_string(millis.astype("datetime64[ms]"), unit="ms", timezone="UTC")


def _epoch_seconds(iso_strings: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(iso_strings, utc=True, format="ISO8601")
    return ((stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)


def _hashes(prefix: str, keys: np.ndarray) -> np.ndarray:
    """Hash each key, computing each distinct key once (prompts and sessions repeat a lot)."""
    unique, inverse = np.unique(keys, return_inverse=True)
    hashed = np.array([_hash(f"{prefix}{k}") for k in unique], dtype=object)
    return hashed[inverse]


def _pairs(world: World, day: date, n: int, rng: np.random.Generator, pair_counts: np.ndarray):
    """Who votes and on what: (voters, left model, right model, whether the in-flow model is on the left).
    Counts each pair in `pair_counts`, which favours pairs seen less often."""
    users, models = world.users, world.models
    active = np.array(
        [
            (r <= day) and (d is None or day < d)
            for r, d in zip(models["released_at"], models["deprecated_at"], strict=True)
        ]
    )
    active_idx = np.flatnonzero(active)
    p_user = users["weight"].to_numpy() / users["weight"].sum()
    voter = rng.choice(len(users), size=n, p=p_user)
    pop = models["popularity"].to_numpy()[active_idx]
    in_flow = active_idx[rng.choice(len(active_idx), size=n, p=pop / pop.sum())]
    other = np.empty(n, dtype=np.int64)
    for a in np.unique(in_flow):  # out-of-flow opponent: favour pairs seen less often
        rows = np.flatnonzero(in_flow == a)
        cands = active_idx[active_idx != a]
        w = 1.0 / np.sqrt(1.0 + pair_counts[a, cands])
        other[rows] = cands[rng.choice(len(cands), size=len(rows), p=w / w.sum())]
    in_flow_left = rng.random(n) < 0.5
    left = np.where(in_flow_left, in_flow, other)
    right = np.where(in_flow_left, other, in_flow)
    np.add.at(pair_counts, (np.minimum(left, right), np.maximum(left, right)), 1)
    np.add.at(pair_counts, (np.maximum(left, right), np.minimum(left, right)), 1)
    return voter, left, right, in_flow_left


def _true_strength(world: World, u: pd.DataFrame, language: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Each vote's model strength for its voter: the model's own plus the voter's segment effects."""
    fx = world.effects
    return (
        world.models["strength"].to_numpy()[model]
        + fx["region"][model, u["region"].to_numpy()]
        + fx["country"][model, u["country"].to_numpy()]
        + fx["language"][model, language]
        + fx["age_band"][model, u["age_band"].to_numpy()]
        + fx["education"][model, u["education"].to_numpy()]
        + fx["profession"][model, u["profession"].to_numpy()]
    )


def _style_features(models: pd.DataFrame, left, right, rng: np.random.Generator) -> dict[str, np.ndarray]:
    feats = {}
    for side, idx in (("left", left), ("right", right)):
        feats[f"tokens_{side}"] = np.maximum(
            1, np.exp(rng.normal(models["log_tokens"].to_numpy()[idx], 0.5))
        ).astype(np.int64)
        for k in ("headers", "lists", "bold"):
            feats[f"{k}_{side}"] = rng.poisson(models[f"{k}_rate"].to_numpy()[idx])
        feats[f"latency_ms_{side}"] = np.exp(rng.normal(models["log_latency"].to_numpy()[idx], 0.4)).astype(
            np.int64
        )
    return feats


def _honest_winners(models, s_left, s_right, feats, in_flow_left, n: int, rng: np.random.Generator):
    """Outcomes of honest voters: Bradley-Terry with style and in-flow effects, ties by closeness."""
    style = sum(
        beta * _normalised_diff(feats[f"{k}_left"].astype(float), feats[f"{k}_right"].astype(float))
        for k, beta in STYLE_COEFFICIENTS.items()
    )
    d = s_left - s_right + style + np.where(in_flow_left, IN_FLOW_EFFECT, -IN_FLOW_EFFECT)
    p = 1.0 / (1.0 + np.exp(-d))
    t = TIE_SCALE * 4.0 * p * (1.0 - p)
    q = (p - t / 2.0) / (1.0 - t)
    r1, r2 = rng.random(n), rng.random(n)
    both_good = (s_left + s_right) / 2.0 + rng.normal(0, 0.5, size=n) > np.median(models["strength"])
    return np.where(
        r1 < t, np.where(both_good, "both_good", "both_bad"), np.where(r2 < q, "left", "right")
    ).astype(object)


def _adversary_winners(winner, u: pd.DataFrame, names, left, right, rng: np.random.Generator) -> np.ndarray:
    """Overwrite the outcomes of adversaries (in place); returns which votes are bots'."""
    kind = u["kind"].to_numpy()
    target = u["target_model"].to_numpy()
    winner[kind == "always_left"] = "left"
    bots = kind == "bot"
    winner[bots] = np.where(rng.random(bots.sum()) < 0.5, "left", "right")
    boosting = np.isin(kind, ["booster", "collusion_ring"])
    winner[boosting & (names[left] == target)] = "left"
    winner[boosting & (names[right] == target)] = "right"
    return bots


def _vote_times(day: date, n: int, feats, bots, rng: np.random.Generator):
    """(voted, shown, exported) in epoch seconds within the day; time-to-vote reads both answers (bots
    do not)."""
    day_start = datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp()
    voted = day_start + np.sort(rng.uniform(0, 86_400 - 1, size=n))
    read_rate = rng.lognormal(math.log(30.0), 0.35, size=n)  # tokens per second
    ttv = 3.0 + (feats["tokens_left"] + feats["tokens_right"]) / read_rate + rng.exponential(4.0, size=n)
    ttv[bots] = rng.uniform(0.3, 1.5, size=bots.sum())
    exported = day_start + 86_400 + rng.uniform(3_600, 20_000, size=n)
    return voted, voted - ttv, exported


def _prompt_hashes(world: World, u: pd.DataFrame, n: int, rng: np.random.Generator) -> np.ndarray:
    """A few greetings are asked thousands of times (6% of votes, Zipf over 50); the rest are nearly
    unique; prompt flooders repeat their own."""
    greeting = rng.random(n) < 0.06
    prompt_rank = np.where(
        greeting, np.minimum(rng.zipf(1.5, size=n), 50), 1_000 + rng.integers(0, 10**9, size=n)
    )
    prompt_hash = _hashes(f"prompt-{world.config.seed}-", prompt_rank)
    flooding = u["kind"].to_numpy() == "prompt_flooder"
    prompt_hash[flooding] = u["prompt_hash"].to_numpy()[flooding]
    return prompt_hash


def _vote_ids(prefix: str, index: np.ndarray) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(index.astype(str), 10)).astype(object)


def votes_for_day(
    world: World, day: date, n: int, rng: np.random.Generator, pair_counts: np.ndarray, first_index: int
) -> pd.DataFrame:
    """One day's votes, canonical columns, before any corruption."""
    models = world.models
    voter, left, right, in_flow_left = _pairs(world, day, n, rng, pair_counts)
    u = world.users.iloc[voter]
    en = world.languages.index("en")
    language = np.where(rng.random(n) < CONVERSATION_IN_FIRST_LANGUAGE, u["first_language"].to_numpy(), en)
    s_left, s_right = _true_strength(world, u, language, left), _true_strength(world, u, language, right)
    feats = _style_features(models, left, right, rng)
    winner = _honest_winners(models, s_left, s_right, feats, in_flow_left, n, rng)
    names = models["model_id"].to_numpy()
    bots = _adversary_winners(winner, u, names, left, right, rng)
    voted, shown, exported = _vote_times(day, n, feats, bots, rng)
    prompt_hash = _prompt_hashes(world, u, n, rng)
    index = np.arange(first_index, first_index + n)
    return pd.DataFrame(
        {
            "vote_id": _vote_ids(f"v{world.config.seed:x}-", index),
            "battle_id": _vote_ids(f"b{world.config.seed:x}-", index),
            "user_id": u["user_id"].to_numpy(),
            "session_id": _hashes(f"session-{day.isoformat()}-", voter),
            "voted_at": _iso(voted),
            "shown_at": _iso(shown),
            "exported_at": _iso(exported),
            "model_left": names[left],
            "model_right": names[right],
            "in_flow_side": np.where(in_flow_left, "left", "right"),
            "winner": winner,
            "distribution": "live",
            "language": np.array(world.languages, dtype=object)[language],
            "category": rng.choice(["coding", "writing", "advice", "math", "chat", "knowledge"], size=n),
            "prompt_hash": prompt_hash,
            "identities_hidden": True,
            **{k: v for k, v in feats.items()},
            "error_left": False,
            "error_right": False,
            "ip_hash": u["ip_hash"].to_numpy(),
            "device_hash": u["device_hash"].to_numpy(),
        }
    )


def corrupt(
    frame: pd.DataFrame, rate: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, dict[str, int], np.ndarray]:
    """Break a share of rows in every way the validator must catch; returns (frame, count by reason,
    positions of the broken rows)."""
    n_bad = int(round(rate * len(frame)))
    if n_bad == 0:
        return frame, {}, np.array([], dtype=np.int64)
    frame = frame.copy()
    for col in ("tokens_left",):
        frame[col] = frame[col].astype("Int64")
    frame["user_id"] = frame["user_id"].astype(object)
    rows = rng.choice(len(frame), size=n_bad, replace=False)
    counts: dict[str, int] = {}
    for k, row in enumerate(rows):
        reason = CORRUPTION_KINDS[k % len(CORRUPTION_KINDS)]
        counts[reason] = counts.get(reason, 0) + 1
        i = frame.index[row]
        if reason == "invalid_winner":
            frame.at[i, "winner"] = "tie" if k % 2 else "draw"
        elif reason == "same_model_both_sides":
            frame.at[i, "model_right"] = frame.at[i, "model_left"]
        elif reason == "unregistered_model":
            frame.at[i, "model_right"] = "unknown-model-x"
        elif reason == "missing_required_field":
            frame.at[i, "user_id"] = None
        elif reason == "voted_after_export":
            frame.at[i, "exported_at"] = frame.at[i, "shown_at"]
        elif reason == "identities_visible":
            frame.at[i, "identities_hidden"] = False
        elif reason == "response_error":
            frame.at[i, "error_left"] = True
        elif reason == "invalid_timestamp":
            frame.at[i, "voted_at"] = str(frame.at[i, "voted_at"]).rstrip("Z")
        elif reason == "invalid_field":
            frame.at[i, "tokens_left"] = -1
    return frame, counts, rows


def _write_day(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        table = pa.Table.from_pandas(frame, preserve_index=False)
        for col in ("voted_at", "shown_at", "exported_at"):
            values = frame[col].to_numpy(dtype=object)
            ok = np.array([isinstance(v, str) and v.endswith("Z") for v in values])
            if ok.all():  # Parquet days carry real UTC timestamps
                ts = pa.array(
                    pd.to_datetime(frame[col], utc=True, format="ISO8601"), type=pa.timestamp("ms", tz="UTC")
                )
                table = table.set_column(table.schema.get_field_index(col), col, ts)
        pq.write_table(table, path, compression="zstd")
    else:
        # gzip level 1: about 4x faster than the default 9 for a file only ~10% larger
        frame.to_json(
            path,
            orient="records",
            lines=True,
            compression={"method": "gzip", "compresslevel": 1, "mtime": 0},
            date_format="iso",
        )


def generate(
    out: Path,
    config: WorldConfig,
    truth: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write the landing zone (and truth); returns the summary written to truth/params.json."""
    out = Path(out)
    world = build_world(config)
    rng = np.random.default_rng(config.seed + 1)
    start = config.end - timedelta(days=config.days)
    models = world.models
    models_csv = models[["model_id", "display_name", "provider", "released_at", "deprecated_at"]].copy()
    models_csv = pd.concat([models_csv[models["is_anchor"]], models_csv[~models["is_anchor"]]])
    out.mkdir(parents=True, exist_ok=True)
    models_csv.to_csv(out / "models.csv", index=False)
    _write_contributors(world, out, rng)

    day_weights = (
        1.0 + 0.25 * np.sin(np.arange(config.days) * 2 * math.pi / 7) + 0.004 * np.arange(config.days)
    )
    per_day = np.floor(config.votes * day_weights / day_weights.sum()).astype(int)
    per_day[-1] += config.votes - per_day.sum()
    pair_counts = np.zeros((len(models), len(models)))
    corrupted: dict[str, int] = {}
    duplicates = {"exact_duplicate": 0, "superseded": 0}
    written = 0
    first_day_file: Path | None = None
    for k in range(config.days):
        day = start + timedelta(days=k)
        frame = votes_for_day(world, day, int(per_day[k]), rng, pair_counts, written)
        if config.corrupt_rate > 0:
            frame = _corrupt_day(frame, config.corrupt_rate, rng, corrupted, duplicates)
        suffix = "parquet" if k % 2 else "jsonl.gz"
        path = out / "votes" / day.isoformat() / f"votes-{day.isoformat()}.{suffix}"
        _write_day(frame, path)
        if first_day_file is None and suffix == "jsonl.gz":
            first_day_file = path
        written += int(per_day[k])
        if progress:
            progress(int(per_day[k]))
    rejected_files = []
    if config.corrupt_rate > 0 and first_day_file is not None:
        rejected_files = _late_bad_files(out, config.seed, first_day_file, corrupted)

    summary = {
        "config": {**asdict(config), "end": config.end.isoformat()},
        "window": {"start": start.isoformat(), "end_exclusive": config.end.isoformat()},
        "votes": int(config.votes),
        "users": {k: int(v) for k, v in world.users["kind"].value_counts().items()},
        "models": len(models),
        "anchor": str(models.loc[models["is_anchor"], "model_id"].iloc[0]),
        "boosted_model": next(iter(world.users["target_model"].dropna()), None),
        "style_coefficients_raw": STYLE_COEFFICIENTS,
        "in_flow_effect": IN_FLOW_EFFECT,
        "tie_scale": TIE_SCALE,
        "corrupted_rows_by_reason": corrupted,
        "duplicates_by_reason": duplicates,
        "rejected_files": rejected_files,
    }
    if truth is not None:
        write_truth(world, Path(truth), summary)
    return summary


def _corrupt_day(frame: pd.DataFrame, rate: float, rng, corrupted: dict, duplicates: dict) -> pd.DataFrame:
    """Break a share of one day's rows (counted in `corrupted`), then add realistic re-deliveries of
    intact rows: exact copies and later re-exports (counted in `duplicates`)."""
    frame, counts, broken_rows = corrupt(frame, rate, rng)
    for reason, c in counts.items():
        corrupted[reason] = corrupted.get(reason, 0) + c
    n_dup = max(1, int(rate * len(frame) / 4))
    clean_rows = frame.drop(index=frame.index[broken_rows])  # re-deliveries copy intact rows only
    copies = clean_rows.sample(n=min(n_dup, len(clean_rows)), random_state=int(rng.integers(2**31)))
    reexports = clean_rows.drop(copies.index).sample(
        n=min(n_dup, max(0, len(clean_rows) - len(copies))), random_state=int(rng.integers(2**31))
    )
    reexports = reexports.assign(exported_at=_iso(_epoch_seconds(reexports["exported_at"]) + 86_400.0))
    duplicates["exact_duplicate"] += len(copies)
    duplicates["superseded"] += len(reexports)
    return pd.concat([frame, copies, reexports], ignore_index=True)


def _late_bad_files(out: Path, seed: int, first_day_file: Path, corrupted: dict) -> list[str]:
    """Files that arrive broken: a truncated re-send, random bytes named .parquet, unparseable lines.
    Returns the files the pipeline must reject whole."""
    broken = out / "votes" / "late" / "votes-resent.jsonl.gz"
    broken.parent.mkdir(parents=True, exist_ok=True)
    data = first_day_file.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    (out / "votes" / "late" / "votes-garbage.parquet").write_bytes(np.random.default_rng(seed).bytes(2048))
    unparseable = out / "votes" / "late" / "votes-handwritten.jsonl"
    unparseable.write_text('{"vote_id": "broken\n[1, 2]\nnot json at all\n', encoding="utf-8")
    corrupted["unparseable_line"] = 3
    return ["votes/late/votes-resent.jsonl.gz", "votes/late/votes-garbage.parquet"]


def _write_contributors(world: World, out: Path, rng: np.random.Generator) -> None:
    users = world.users
    n = len(users)
    verified = rng.random(n) > 0.03
    langs = [
        [world.languages[a]] + ([world.languages[b]] if b >= 0 and b != a else [])
        for a, b in zip(users["first_language"], users["second_language"], strict=True)
    ]
    start = world.config.end - timedelta(days=world.config.days)
    frame = pd.DataFrame(
        {
            "user_id": users["user_id"],
            "country": [world.countries[c] for c in users["country"]],
            "age_band": [list(AGE_BAND_SHARES)[a] for a in users["age_band"]],
            "education": [list(EDUCATION_SHARES)[e] for e in users["education"]],
            "profession": [PROFESSIONS[p] for p in users["profession"]],
            "languages": langs,
            "verified": verified,
            "verified_at": [
                datetime.combine(start - timedelta(days=int(d)), datetime.min.time(), tzinfo=UTC)
                for d in rng.integers(0, 60, size=n)
            ],
            "account_created_at": [
                datetime.combine(d, datetime.min.time(), tzinfo=UTC) for d in users["account_created_at"]
            ],
        }
    )
    (out / "contributors").mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), out / "contributors" / "contributors.parquet"
    )
    # Older verifications of some users, superseded by the records above (latest verified wins).
    old = frame.sample(frac=0.05, random_state=int(rng.integers(2**31))).copy()
    old["profession"] = "other"
    old["verified_at"] = old["verified_at"] - pd.Timedelta(days=400)
    old.to_json(
        out / "contributors" / "contributors-2024.jsonl", orient="records", lines=True, date_format="iso"
    )


def truth_strengths(world: World) -> pd.DataFrame:
    """True strength of each model per segment: the global strength plus the effects averaged over
    the honest voters (by vote weight) of that segment; `overall`/`all` averages over everyone."""
    users = world.users[world.users["kind"] == "honest"]
    fx, models = world.effects, world.models
    w = users["weight"].to_numpy()
    en = world.languages.index("en")
    first = users["first_language"].to_numpy()
    # per (model, user): every effect except language, then the expected language effect
    base = (
        fx["region"][:, users["region"].to_numpy()]
        + fx["country"][:, users["country"].to_numpy()]
        + fx["age_band"][:, users["age_band"].to_numpy()]
        + fx["education"][:, users["education"].to_numpy()]
        + fx["profession"][:, users["profession"].to_numpy()]
    )
    lang_expected = (
        CONVERSATION_IN_FIRST_LANGUAGE * fx["language"][:, first]
        + (1 - CONVERSATION_IN_FIRST_LANGUAGE) * fx["language"][:, [en]]
    )
    total = base + lang_expected
    g = models["strength"].to_numpy()
    rows = []

    def add(dim: str, value: str, mask: np.ndarray, values: np.ndarray) -> None:
        if not mask.any():
            return
        ww = w[mask]
        s = g + (values[:, mask] * ww).sum(axis=1) / ww.sum()
        rows.extend((dim, value, mid, float(v)) for mid, v in zip(models["model_id"], s, strict=True))

    add("overall", "all", np.ones(len(users), dtype=bool), total)
    for c, name in enumerate(world.countries):
        add("country", name, users["country"].to_numpy() == c, total)
    for a, name in enumerate(AGE_BAND_SHARES):
        add("age_band", name, users["age_band"].to_numpy() == a, total)
    for e, name in enumerate(EDUCATION_SHARES):
        add("education", name, users["education"].to_numpy() == e, total)
    for p, name in enumerate(PROFESSIONS):
        add("profession", name, users["profession"].to_numpy() == p, total)
    for li, name in enumerate(world.languages):
        # conversations in this language: first-language speakers (and everyone, for English)
        share = np.where(first == li, CONVERSATION_IN_FIRST_LANGUAGE, 0.0) + (
            1 - CONVERSATION_IN_FIRST_LANGUAGE
        ) * (li == en)
        mask = share > 0
        if not mask.any():
            continue
        ww = w[mask] * share[mask]
        s = g + fx["language"][:, li] + (base[:, mask] * ww).sum(axis=1) / ww.sum()
        rows.extend(("language", name, mid, float(v)) for mid, v in zip(models["model_id"], s, strict=True))
    return pd.DataFrame(rows, columns=["segment_dim", "segment_value", "model_id", "strength"])


def write_truth(world: World, truth: Path, summary: dict) -> None:
    truth.mkdir(parents=True, exist_ok=True)
    users = world.users[["user_id", "kind", "target_model"]]
    pq.write_table(pa.Table.from_pandas(users, preserve_index=False), truth / "users.parquet")
    pq.write_table(
        pa.Table.from_pandas(truth_strengths(world), preserve_index=False), truth / "strengths.parquet"
    )
    (truth / "params.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
