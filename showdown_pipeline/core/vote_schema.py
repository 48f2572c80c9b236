"""The canonical vote schema (DESIGN §2.1), the contributor schema (§2.2) and the quarantine reasons.

The validation rules themselves are SQL (`sql/validate/votes_checked.sql`); this module names the
fields, the allowed values and the machine-readable reasons those rules use, so code and tests
share one vocabulary.
"""

from __future__ import annotations

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

REQUIRED_VOTE_FIELDS: tuple[str, ...] = (
    "vote_id",
    "battle_id",
    "user_id",
    "voted_at",
    "model_left",
    "model_right",
    "winner",
)

COUNT_FIELDS: tuple[str, ...] = (
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
)

WINNERS: tuple[str, ...] = ("left", "right", "both_good", "both_bad")
# LMArena convention: a tie of either kind is half a win for each side.
WINNER_SCORE: dict[str, float] = {"left": 1.0, "right": 0.0, "both_good": 0.5, "both_bad": 0.5}

DEFAULT_DISTRIBUTION = "live"

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

# LMArena / FastChat battle logs (DESIGN §2.4): their winner labels in our vocabulary.
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
    "invalid_timestamp",  # unparseable, or without a UTC offset
    "invalid_winner",  # anything outside WINNERS; never coerced into a tie
    "same_model_both_sides",
    "unregistered_model",
    "model_not_active",  # voted before release or after deprecation
    "voted_after_export",
    "identities_visible",
    "response_error",
    "invalid_field",  # a typed optional field with a value of the wrong type or range
)

# Why a valid row did not count: each points at the row that was kept.
DUPLICATE_REASONS: tuple[str, ...] = (
    "exact_duplicate",  # byte-identical record delivered again
    "superseded",  # same vote_id, a later exported_at (or a later delivery) wins
    "duplicate_user_battle",  # a second vote by the same user on the same battle
)

FILE_STATUSES: tuple[str, ...] = ("ingested", "rejected", "unchanged")
