"""A run's own data cut, anchor, seed and breaker overrides, carried by the run's tags.

One source per run: the CLI, the nightly schedule and the landing sensor write these tags when they
create a run; a run launched from the UI without them gets the UTC date of the run's creation as its cut
(never "now" at each step, so a run that crosses midnight keeps one cut). Every step reads the same
values; every board records them, and publish refuses boards made under another cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from showdown_pipeline.core.breakers import BREAKER_NAMES

TAG_AS_OF = "showdown/as_of"
TAG_ANCHOR = "showdown/anchor"
TAG_ANCHOR_RATING = "showdown/anchor_rating"
TAG_SEED = "showdown/seed"
TAG_OVERRIDES = "showdown/override_breakers"
TAG_OVERRIDE_BY = "showdown/override_by"

DEFAULT_ANCHOR_RATING = 1000.0
DEFAULT_SEED = 20_240_601
_MAX_SEED = 2**32 - 1  # numpy's SeedSequence-compatible range we publish


class CutError(ValueError):
    """A tag (or flag) that cannot be a cut, anchor, seed or override; the message names it."""


@dataclass(frozen=True)
class RunCut:
    """What one run rates: votes before `as_of` 00:00 UTC, `anchor_model` (None: the registry's first model)
    pinned at `anchor_rating`, bootstrap and fold seed `seed`, breakers overridden for this run only."""

    as_of: date
    anchor_model: str | None = None
    anchor_rating: float = DEFAULT_ANCHOR_RATING
    seed: int = DEFAULT_SEED
    overrides: tuple[str, ...] = ()
    override_by: str | None = None
    defaults: tuple[str, ...] = field(default=(), compare=False)  # which values no tag gave

    @property
    def cutoff(self) -> datetime:
        return datetime.combine(self.as_of, time(0, 0), tzinfo=UTC)

    def key(self) -> dict:
        """What two steps must agree on to belong to one cut (overrides do not change a board)."""
        return {
            "as_of": self.as_of.isoformat(),
            "anchor_model": self.anchor_model,
            "anchor_rating": self.anchor_rating,
            "seed": self.seed,
        }

    def tags(self) -> dict[str, str]:
        tags = {
            TAG_AS_OF: self.as_of.isoformat(),
            TAG_ANCHOR_RATING: repr(float(self.anchor_rating)),
            TAG_SEED: str(self.seed),
        }
        if self.anchor_model is not None:
            tags[TAG_ANCHOR] = self.anchor_model
        if self.overrides:
            tags[TAG_OVERRIDES] = ",".join(self.overrides)
        if self.override_by:
            tags[TAG_OVERRIDE_BY] = self.override_by
        return tags


def parse_as_of(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError) as exc:
        raise CutError(f"as_of must be YYYY-MM-DD, got {value!r}") from exc


def parse_anchor_rating(value: str | float) -> float:
    try:
        rating = float(value)
    except (TypeError, ValueError) as exc:
        raise CutError(f"anchor rating must be a number, got {value!r}") from exc
    if not math.isfinite(rating):
        raise CutError(f"anchor rating must be finite, got {value!r}")
    return rating


def parse_seed(value: str | int) -> int:
    try:
        seed = int(str(value).strip())
    except ValueError as exc:
        raise CutError(f"seed must be an integer, got {value!r}") from exc
    if not 0 <= seed <= _MAX_SEED:
        raise CutError(f"seed must be between 0 and {_MAX_SEED}, got {seed}")
    return seed


def parse_anchor_model(value: str) -> str:
    if not value or not value.strip() or not value.isprintable():
        raise CutError(f"anchor model must be a printable, non-empty model id, got {value!r}")
    return value


def parse_overrides(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    names = value.split(",") if isinstance(value, str) else list(value)
    names = [n.strip() for n in names if n.strip()]
    unknown = sorted(set(names) - set(BREAKER_NAMES))
    if unknown:
        raise CutError(
            f"unknown breaker {', '.join(map(repr, unknown))}; breakers are {', '.join(BREAKER_NAMES)}"
        )
    return tuple(sorted(set(names)))


def cut_from_tags(tags: dict[str, str], created_at: datetime) -> RunCut:
    """The cut a run's tags describe; missing values default (as_of: the UTC date the run was created)."""
    given = {
        "as_of": TAG_AS_OF,
        "anchor_model": TAG_ANCHOR,
        "anchor_rating": TAG_ANCHOR_RATING,
        "seed": TAG_SEED,
    }
    defaults = [name for name, tag in given.items() if tag not in tags]
    as_of = parse_as_of(tags[TAG_AS_OF]) if TAG_AS_OF in tags else created_at.astimezone(UTC).date()
    anchor = parse_anchor_model(tags[TAG_ANCHOR]) if TAG_ANCHOR in tags else None
    rating = parse_anchor_rating(tags.get(TAG_ANCHOR_RATING, DEFAULT_ANCHOR_RATING))
    seed = parse_seed(tags.get(TAG_SEED, DEFAULT_SEED))
    return RunCut(
        as_of=as_of,
        anchor_model=anchor,
        anchor_rating=rating,
        seed=seed,
        overrides=parse_overrides(tags.get(TAG_OVERRIDES, "")),
        override_by=tags.get(TAG_OVERRIDE_BY) or None,
        defaults=tuple(defaults),
    )


def describe_mismatch(expected: dict, found: dict, what: str, found_run: str | None) -> str | None:
    """One line saying how a table's recorded cut differs from this run's, or None when they agree."""
    differing = [k for k in expected if found.get(k) != expected[k]]
    if not differing:
        return None
    pairs = ", ".join(f"{k} {found.get(k)!r} (this run: {expected[k]!r})" for k in differing)
    return f"{what} was made by run {(found_run or '?')[:8]} with {pairs}"
