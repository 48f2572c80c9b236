"""The integrity checks as a registry: one `IntegrityCheck` per check, in `CHECKS`, in the order they run.

A check is a function from its inputs (fields of `IntegrityInputs`, passed by name) and the thresholds `t`
to flag rows (`thresholds.FLAG_COLUMNS`), each row naming the check. Adding a check is one function in
`checks.py`, one line in `CHECKS` and its test; `run_checks` runs whatever `CHECKS` holds when it is called
and the pipeline carries the flags into `user_flags`, `vote_exclusions` and the summary.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from showdown_pipeline.core.integrity import checks
from showdown_pipeline.core.integrity.thresholds import FLAG_COLUMNS, IntegrityThresholds, flag_frame


@dataclass(frozen=True)
class IntegrityInputs:
    """What the checks read, once per run, through the warehouse seam (`run.read_inputs`; one SQL file each
    under `sql/integrity/`). `scores` and `sweeps` compare votes with the preliminary ratings: without any
    valid vote before the cut there are none, they are None, and the checks that need them do not run."""

    stats: pd.DataFrame  # user_vote_stats: one row per voter (volume, position, speed, top prompt)
    surprise: pd.DataFrame  # vote_outcome_surprise: one row per vote, log-probability given the others
    shared: pd.DataFrame  # shared_identities: one row per ip/device hash shared by 2..ring_max_group voters
    scores: pd.DataFrame | None  # user_model_scores: one row per (voter, model), score against expected
    sweeps: pd.DataFrame | None  # user_model_sweeps: one row per (voter, model), outright wins
    seed: int  # the outcome-anomaly checkpoints' seed: secret, only its sha256 is published


INPUT_NAMES = frozenset(f.name for f in dataclasses.fields(IntegrityInputs))
THRESHOLD_NAMES = frozenset(f.name for f in dataclasses.fields(IntegrityThresholds))
# thresholds bound into an input's SQL statement (run.read_inputs): a check reading that input may name them
INPUT_THRESHOLDS = {
    "stats": frozenset({"min_seconds", "max_tokens_per_second"}),
    "sweeps": frozenset({"sweep_min_seen"}),
    "shared": frozenset({"ring_max_group"}),
}


CHECK_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")  # a check_name in tables and the manifest: no look-alikes
CATCHES = re.compile(r"[^|\n]{10,200}\.")  # one sentence: a cell of the README's table


class RegistryError(ValueError):
    """A check whose declaration does not match its function, or a registry that cannot run in order."""


@dataclass(frozen=True)
class IntegrityCheck:
    """One check: `name` is the `check_name` of its flag rows; `catches` one sentence for the README and
    the manifest; `thresholds` the fields of `IntegrityThresholds` it reads; `inputs` the fields of
    `IntegrityInputs` it needs, passed to `flag` by name with `t`; `explained_by` checks whose flagged
    voters it leaves out (passed as `already`, a set of user ids), which must run before it."""

    name: str
    catches: str
    thresholds: tuple[str, ...]
    inputs: tuple[str, ...]
    flag: Callable[..., pd.DataFrame]
    explained_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if not CHECK_NAME.fullmatch(self.name):
            problems.append("its name must be lower-case ASCII letters, digits and underscores")
        if not CATCHES.fullmatch(self.catches):
            problems.append("what it catches must be one line ending with a full stop, without '|'")
        problems += [f"unknown threshold {n!r}" for n in self.thresholds if n not in THRESHOLD_NAMES]
        problems += [f"unknown input {n!r}" for n in self.inputs if n not in INPUT_NAMES]
        wanted = {*self.inputs, "t", *(["already"] if self.explained_by else [])}
        params = set(inspect.signature(self.flag).parameters)
        if params != wanted:
            problems.append(f"its function takes {sorted(params)}, its declaration passes {sorted(wanted)}")
        if problems:
            raise RegistryError(f"integrity check {self.name!r}: " + "; ".join(problems))


CHECKS: list[IntegrityCheck] = [
    IntegrityCheck(
        "too_fast",
        "Bots: most timed votes cast faster than reading both answers allows.",
        ("alpha", "min_seconds", "max_tokens_per_second", "too_fast_min_votes", "too_fast_share"),
        ("stats",),
        checks.too_fast,
    ),
    IntegrityCheck(
        "inhuman_regularity",
        "Scripts: a time-to-vote that barely varies from vote to vote.",
        ("regular_min_votes", "regular_max_cv"),
        ("stats",),
        checks.inhuman_regularity,
    ),
    IntegrityCheck(
        "daily_volume",
        "Farms: more votes in one UTC day than the cap.",
        ("daily_cap",),
        ("stats",),
        checks.daily_volume,
    ),
    IntegrityCheck(
        "position_bias",
        "Voters who (almost) always pick the same side, left or right.",
        ("alpha", "position_min_votes", "position_min_gap"),
        ("stats",),
        checks.position_bias,
    ),
    IntegrityCheck(
        "prompt_flooding",
        "Flooders: a voter who casts most of their votes on one prompt.",
        ("flood_min_votes", "flood_share"),
        ("stats",),
        checks.prompt_flooders,
    ),
    IntegrityCheck(
        "favouritism",
        "Boosters: a model scoring far above the ratings' expectation whenever this voter sees it.",
        ("favour_min_seen", "favour_min_excess", "favour_z"),
        ("scores",),
        checks.favouritism,
    ),
    IntegrityCheck(
        "collusion_ring",
        "Rings: accounts linked by shared network or device hashes that, pooled, favour one model.",
        ("ring_max_group", "ring_min_size", "ring_z", "favour_min_excess"),
        ("shared", "scores"),
        checks.rings,
    ),
    IntegrityCheck(
        "coordinated_favouritism",
        "Boosters too thin to catch one by one: far more voters sweeping one model than chance explains.",
        ("alpha", "sweep_min_seen", "sweep_max_p", "sweep_min_users", "sweep_min_ratio"),
        ("sweeps",),
        checks.coordinated_sweeps,
        explained_by=("favouritism", "collusion_ring"),
    ),
    IntegrityCheck(
        "disfavouring",
        "Omnipresent rigging: a model dragged far below the ratings' expectation whenever this voter sees it.",
        ("favour_min_seen", "favour_min_excess", "favour_z"),
        ("scores",),
        checks.disfavouring,
    ),
    IntegrityCheck(
        "outcome_anomaly",
        "Random clickers and contrarians: outcomes jointly improbable given everyone else's votes.",
        (
            "alpha",
            "anomaly_min_votes",
            "anomaly_max_checkpoint",
            "anomaly_checkpoints",
            "anomaly_min_excess",
        ),
        ("surprise", "seed"),
        checks.outcome_anomaly,
    ),
]


def validate_registry(registry: Sequence[IntegrityCheck]) -> None:
    """Names unique; every check a voter is `explained_by` runs before it."""
    seen: set[str] = set()
    for check in registry:
        if check.name in seen:
            raise RegistryError(f"integrity check {check.name!r} is registered twice")
        later = [n for n in check.explained_by if n not in seen]
        if later:
            raise RegistryError(
                f"integrity check {check.name!r} is explained by {later}, which must run before it"
            )
        seen.add(check.name)


def run_checks(
    inputs: IntegrityInputs, t: IntegrityThresholds, registry: Sequence[IntegrityCheck] | None = None
) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """Every check of `registry` (default: `CHECKS` as it is when called) whose inputs are present, in order.

    Returns the flag rows (registry order, each check's rows by voter) and, per registered check, its
    name, what it catches and whether it ran (the summary's `checks`: a check that flagged nobody still shows)."""
    registry = CHECKS if registry is None else registry
    validate_registry(registry)
    flags: dict[str, pd.DataFrame] = {}
    for check in registry:
        if any(getattr(inputs, name) is None for name in check.inputs):
            continue
        arguments = {name: getattr(inputs, name) for name in check.inputs}
        if check.explained_by:
            arguments["already"] = {u for n in check.explained_by if n in flags for u in flags[n]["user_id"]}
        flags[check.name] = _checked(check, check.flag(**arguments, t=t)).sort_values(
            "user_id", kind="stable"
        )
    found = [f for f in flags.values() if len(f)]
    rows = pd.concat(found, ignore_index=True) if found else flag_frame([])
    report = [{"name": c.name, "catches": c.catches, "ran": c.name in flags} for c in registry]
    return rows.astype({"score": float, "p_value": float, "excluded": bool}), report


def _checked(check: IntegrityCheck, rows: pd.DataFrame) -> pd.DataFrame:
    """A check's rows as the registry promises them: the flag columns, its own name, a voter on each."""
    if not isinstance(rows, pd.DataFrame) or tuple(rows.columns) != FLAG_COLUMNS:
        columns = list(rows.columns) if isinstance(rows, pd.DataFrame) else type(rows).__name__
        raise RegistryError(f"integrity check {check.name!r} returned {columns}, not {list(FLAG_COLUMNS)}")
    wrong = set(rows["check_name"]) - {check.name}
    if wrong:
        raise RegistryError(f"integrity check {check.name!r} returned rows named {sorted(map(str, wrong))}")
    if rows["user_id"].isna().any() or rows["excluded"].isna().any():
        raise RegistryError(f"integrity check {check.name!r} returned a row without a voter or an exclusion")
    return rows
