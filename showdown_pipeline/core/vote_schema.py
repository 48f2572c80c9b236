"""The canonical vote schema (DESIGN §2.1), the contributor schema (§2.2) and the quarantine reasons.

The validation rules themselves are SQL (`sql/validate/votes_checked_batch.sql`); this module names the
fields, the allowed values and the machine-readable reasons those rules use, so code and tests
share one vocabulary. How a delivered value is normalised before it meets these sets (NFKC,
invisible characters, case) is `core/normalise.py`.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

VOTE_FIELDS: tuple[str, ...] = (
    "vote_id",
    "battle_id",
    "user_id",
    "session_id",
    "voted_at",
    "shown_at",
    "exported_at",
    "model_left",
    "model_right",
    "in_flow_side",
    "winner",
    "distribution",
    "language",
    "category",
    "prompt_hash",
    "identities_hidden",
    "tokens_left",
    "tokens_right",
    "headers_left",
    "headers_right",
    "lists_left",
    "lists_right",
    "bold_left",
    "bold_right",
    "latency_ms_left",
    "latency_ms_right",
    "error_left",
    "error_right",
    "ip_hash",
    "device_hash",
)

# Fields the contract spells as JSON strings. Ingest records each one delivered as another JSON type
# (raw_votes.json_types, from JSON Lines or from a typed Parquet column); validation makes it
# invalid_field: a 64-bit prompt hash stored as an integer reads as its decimal digits, a valid-looking
# key of its own that never meets its hex spelling, and a number, boolean, array or object is no
# stream name, model id or language. Only the INTEGER_ID_FIELDS may also be JSON integers: an integer
# id's decimal text is the id (upstreams number their votes and users), with no other spelling.
STRING_FIELDS: tuple[str, ...] = (
    "vote_id",
    "battle_id",
    "user_id",
    "session_id",
    "model_left",
    "model_right",
    "in_flow_side",
    "winner",
    "distribution",
    "language",
    "category",
    "prompt_hash",
    "ip_hash",
    "device_hash",
)
INTEGER_ID_FIELDS: tuple[str, ...] = ("vote_id", "battle_id", "user_id", "session_id")
JSON_INTEGER_TYPES: tuple[str, ...] = ("UBIGINT", "BIGINT")

# Counts are finite integers in [0, MAX_COUNT], written as a plain decimal number (surrounding spaces
# trimmed; "12", "12.0", "1.2e1" are 12; "12.5", "NaN", "inf", "1_000", "0x10" are invalid).
MAX_COUNT = 1_000_000_000
COUNT_PATTERN = r"^[+-]?(?:[0-9]+[.]?[0-9]*|[.][0-9]+)(?:[eE][+-]?[0-9]+)?$"

# A timestamp is a date, a time of day and a real UTC offset (RFC 3339; seconds and fractions optional,
# 'T', 't' or a space between): 'Z', or ±HH, ±HHMM, ±HH:MM up to ±14:00 with minutes below 60. A bare
# date ('2026-10-10': its '-10' is no offset) or an impossible offset ('+99', '-9959', which move the
# instant by days) is unreadable: voted_at becomes invalid_timestamp, the others invalid_field.
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?"
    r"([zZ]|[+-]((0[0-9]|1[0-3])(:?[0-5][0-9])?|14(:?00)?))$"
)
# Any timestamp outside [EARLIEST_TIMESTAMP, LATEST_TIMESTAMP) is invalid (epoch 0, year 294247, 'infinity').
EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIMESTAMP = datetime(2100, 1, 1, tzinfo=UTC)

WINNERS: tuple[str, ...] = ("left", "right", "both_good", "both_bad")
IN_FLOW_SIDES: tuple[str, ...] = ("left", "right")
# LMArena convention: a tie of either kind is half a win for each side. SQL reads this very mapping as
# the relation winner_scores (core/sql.rule_relations); votes_clean.score carries it per vote.
WINNER_SCORE: dict[str, float] = {"left": 1.0, "right": 0.0, "both_good": 0.5, "both_bad": 0.5}

DEFAULT_DISTRIBUTION = "live"
# A distribution (sampling stream) is an ASCII token after normalisation: lower-case letters and digits,
# words joined by '_', '-' or '.'. A look-alike of "live" in another script is invalid, never a new stream.
DISTRIBUTION_PATTERN = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$"

# The canonical prompt key (core/normalise.prompt_key): lower-case hex of 16 to 128 digits.
PROMPT_KEY_PATTERN = r"^[0-9a-f]{16,128}$"

# Booleans: these words (after normalisation, case-insensitive) and nothing else.
TRUE_WORDS: frozenset[str] = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS: frozenset[str] = frozenset({"false", "f", "no", "n", "0"})

# Language values that say "not known" (a language detector's "unknown", ISO 639-2's und/zxx/mul/mis)
# become NULL: the vote counts, in no language segment. ("na" is Nauru, not "n/a".)
UNKNOWN_LANGUAGES: frozenset[str] = frozenset(
    {"unknown", "und", "undetermined", "zxx", "mul", "mis", "n/a", "none", "null", "?"}
)


@functools.cache
def language_codes() -> frozenset[str]:
    """Every value the `language` column may hold: ISO 639-1 codes, and the ISO 639-3 code of a
    language that has no ISO 639-1 code (e.g. `yue`, `fil`); special codes (und, zxx, mul, mis) excluded."""
    import pycountry

    codes = set()
    for lang in pycountry.languages:
        if hasattr(lang, "alpha_2"):
            codes.add(lang.alpha_2)
        elif getattr(lang, "type", None) != "S":
            codes.add(lang.alpha_3)
    return frozenset(codes)


@functools.cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (the officially assigned ones, from pycountry)."""
    import pycountry

    return frozenset(c.alpha_2 for c in pycountry.countries)


CONTRIBUTOR_FIELDS: tuple[str, ...] = (
    "user_id",
    "country",
    "age_band",
    "education",
    "profession",
    "languages",
    "verified",
    "verified_at",
    "account_created_at",
)
AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
EDUCATION_LEVELS: tuple[str, ...] = (
    "primary",
    "secondary",
    "vocational",
    "bachelor",
    "master",
    "doctorate",
    "other",
)

MODEL_FIELDS: tuple[str, ...] = ("model_id", "display_name", "provider", "released_at", "deprecated_at")
# Optional models.csv columns: absent from the header, every row has them empty. `pre_release`: the model was
# shown before its public release (released_at); it stays provisional until PRE_RELEASE_MIN_VOTES counted votes
# cast after that release (core/providers.py).
MODEL_OPTIONAL_FIELDS: tuple[str, ...] = ("pre_release",)

# LMArena / FastChat battle logs (DESIGN §2.4): their winner labels in our vocabulary; SQL reads this
# mapping as the relation arena_winners (the arena ingest and `showdown rate`).
ARENA_WINNERS: dict[str, str] = {
    "model_a": "left",
    "model_b": "right",
    "tie": "both_good",
    "tie (bothbad)": "both_bad",
}

# Quarantine reasons, in the order the validator reports the first one that applies.
# Every quarantined row also keeps the full list of reasons that applied.
QUARANTINE_REASONS: tuple[str, ...] = (
    "unparseable_line",  # not JSON, or JSON but not an object
    "missing_required_field",
    "invalid_timestamp",  # not TIMESTAMP_PATTERN (no time, no real offset), unparseable, or out of range
    "invalid_winner",  # anything outside WINNERS after normalisation; never coerced into a tie
    "same_model_both_sides",
    "unregistered_model",
    "model_not_active",  # voted before release or after deprecation
    "voted_after_export",
    "identities_visible",
    "response_error",
    "invalid_field",  # a value outside its set or range (core/normalise.py), an unreadable optional timestamp,
    # shown_at after voted_at (an answer shown after the vote is impossible); reason_detail names the fields
)
