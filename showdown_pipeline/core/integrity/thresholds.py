"""What the integrity checks share: their thresholds and the shape of a flag row."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

FLAG_COLUMNS = ("user_id", "check_name", "score", "p_value", "reason", "excluded")


@dataclass(frozen=True)
class IntegrityThresholds:
    """Every knob of the checks (each `IntegrityCheck` names the ones it reads); the defaults are the UI's
    `IntegrityConfig` defaults and are published in the integrity summary."""

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


def flag_frame(rows: list[dict]) -> pd.DataFrame:
    """Flag rows in the columns every check returns (an empty list gives an empty frame with them)."""
    return pd.DataFrame(rows, columns=list(FLAG_COLUMNS))
