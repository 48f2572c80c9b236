"""What a delivered value means: decided once, here, before any rule looks at it (DESIGN §5).

Every enumerated field of a vote or a contributor passes through one function of this module, and
the allowed sets are `core/vote_schema.py`. The validation SQL never re-interprets a raw value: it
joins the mapping this module produced (field, raw, value, problem), so the holdout, its independent
re-check, integrity and the boards all read the same decided value.

`clean_text` is the common first step:
  1. remove INVISIBLE characters (Unicode category Cf — zero-width space and joiners, BOM, word
     joiner, soft hyphen, bidi controls, Mongolian vowel separator, tag characters … — plus the other
     default-ignorable and blank-looking ones in EXTRA_INVISIBLE: variation selectors, Hangul fillers,
     the combining grapheme joiner, the braille blank);
  2. Unicode NFKC (fullwidth "ＬＩＶＥ" is "LIVE", a no-break space is a space, "ﬁ" is "fi");
  3. remove INVISIBLE characters again (NFKC can produce some);
  4. fold each run of whitespace (anything `str.isspace`) to one space and trim both ends.

Then each field lower- or upper-cases where the contract is case-insensitive and checks the result
against its set. A value that does not land in its set is a problem (the vote or contributor record
is quarantined `invalid_field`, or `invalid_winner`), never a silent new category: "lіve" with a
Cyrillic "і" is not ASCII after NFKC, so it is invalid, not a stream of its own that escapes the
holdout.

The canonical prompt key (`prompt_key`): NFKC, every invisible and whitespace character removed,
lower case, one leading "0x" dropped; it must then match vote_schema.PROMPT_KEY_PATTERN
(`^[0-9a-f]{16,128}$`). Two deliveries of one prompt that differ by hex case, spaces or a zero-width
character are one prompt for the leak guard and the integrity checks. Prompt hashes are
high-cardinality, so the SQL computes the key itself for every value that is ASCII once invisible
and whitespace characters are gone (NFKC is the identity on ASCII), with STRIP_PATTERN, built from the
same constants, as a bound parameter; only the rare values still holding other non-ASCII characters
come here.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable

import pyarrow as pa

from showdown_pipeline.core import vote_schema as vs
from showdown_pipeline.core.warehouse import WarehouseSession

# Invisible characters that are not in category Cf: default-ignorable code points (Unicode's
# DerivedCoreProperties), including the reserved ones, and blank fillers that render as nothing.
EXTRA_INVISIBLE: frozenset[str] = frozenset(
    chr(c)
    for lo, hi in (
        (0x034F, 0x034F),  # combining grapheme joiner
        (0x115F, 0x1160),  # Hangul choseong / jungseong fillers
        (0x17B4, 0x17B5),  # Khmer inherent vowels
        (0x180B, 0x180D),  # Mongolian free variation selectors 1-3
        (0x180F, 0x180F),  # Mongolian free variation selector 4
        (0x2065, 0x2065),  # reserved default-ignorable
        (0x2800, 0x2800),  # braille pattern blank
        (0x3164, 0x3164),  # Hangul filler
        (0xFE00, 0xFE0F),  # variation selectors
        (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
        (0xFFF0, 0xFFF8),  # reserved default-ignorable
        (0xE0000, 0xE0FFF),  # tags, variation selectors supplement, reserved default-ignorable
    )
    for c in range(lo, hi + 1)
)


def _scan_code_points() -> tuple[frozenset[str], frozenset[str], dict[int, str], frozenset[str]]:
    """(format characters Cf, whitespace, dashes -> '-', control characters Cc), in one pass over every
    code point."""
    cf, space, dashes, cc = set(), set(), {}, set()
    for c in range(sys.maxunicode + 1):
        ch = chr(c)
        category = unicodedata.category(ch)
        if category == "Cf":
            cf.add(ch)
        elif category == "Cc":
            cc.add(ch)
        elif category == "Pd" or c == 0x2212:  # every dash punctuation, and the minus sign
            dashes[c] = "-"
        if ch.isspace():
            space.add(ch)
    return frozenset(cf), frozenset(space), dashes, frozenset(cc)


_FORMAT, WHITESPACE, _DASHES, CONTROL = _scan_code_points()
INVISIBLE: frozenset[str] = _FORMAT | EXTRA_INVISIBLE
_DROP_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE))
_DROP_INVISIBLE_AND_SPACE = dict.fromkeys(map(ord, INVISIBLE | WHITESPACE))


def _char_class(chars: Iterable[str]) -> str:
    """An RE2 character class matching exactly `chars` (as code point ranges)."""
    points = sorted(map(ord, chars))
    ranges: list[list[int]] = []
    for p in points:
        if ranges and p == ranges[-1][1] + 1:
            ranges[-1][1] = p
        else:
            ranges.append([p, p])
    parts = (f"\\x{{{lo:X}}}" + (f"-\\x{{{hi:X}}}" if hi > lo else "") for lo, hi in ranges)
    return "[" + "".join(parts) + "]"


# Bound as $strip_pattern in the validation SQL: the characters the prompt key removes.
STRIP_PATTERN = _char_class(INVISIBLE | WHITESPACE)
# Bound as $control_pattern: a vote's identifiers (ids, model ids, session, network and device hashes)
# holding a control character (Unicode Cc: C0 incl. NUL, DEL, C1) are invalid_field; an id is never
# cleaned, since two different upstream ids must never become one. Free text (profession) drops them.
CONTROL_PATTERN = _char_class(CONTROL)
# Bound as $model_id_hidden_pattern: a model id (a vote's model_left/model_right, a registry's model_id) is
# printed on every board, report and export, so besides a control character it may hold no invisible character
# (Cf: zero-width space and joiners, bidi controls such as U+202E; EXTRA_INVISIBLE) and no whitespace but the
# ASCII space: each prints as another model's name ("gpt-4\u200b" reads "gpt-4") or reorders the text around it.
# Such an id is invalid (a vote: invalid_field; a registry row: hidden_character_in_model_id), never cleaned.
# The ASCII space itself hides at either end ("m-a " prints "m-a") and in a run (HTML shows "m  a" as "m a").
# Private-use characters (Co) and the noncharacters print as nothing or as a box depending on the reader's
# font ("m-a\ue000", "m-a\ufdd0" beside "m-a"), so they are refused in a model id too.
_PRIVATE_AND_NONCHARACTERS = ((0xE000, 0xF8FF), (0xF0000, 0x10FFFF), (0xFDD0, 0xFDEF)) + tuple(
    (plane * 0x10000 + 0xFFFE, plane * 0x10000 + 0xFFFF) for plane in range(15)
)
MODEL_ID_HIDDEN_PATTERN = (
    _char_class(
        CONTROL
        | INVISIBLE
        | (WHITESPACE - {" "})
        | {chr(c) for lo, hi in _PRIVATE_AND_NONCHARACTERS for c in range(lo, hi + 1)}
    )
    + "|^ | $|  "
)
IDENTIFIER_FIELDS = (
    "vote_id",
    "battle_id",
    "user_id",
    "session_id",
    "model_left",
    "model_right",
    "ip_hash",
    "device_hash",
)
_DROP_CONTROL = {ord(c): (" " if c.isspace() else None) for c in CONTROL}


def clean_text(value: str | None) -> str:
    """Invisible characters removed, NFKC, whitespace runs folded to one space, trimmed ("" for None)."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", value.translate(_DROP_INVISIBLE)).translate(_DROP_INVISIBLE)
    return " ".join(text.split())


def prompt_key(value: str | None) -> str | None:
    """The canonical prompt key (see the module docstring); None when nothing is left. The key may
    still fail vote_schema.PROMPT_KEY_PATTERN: the caller judges it."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", value.translate(_DROP_INVISIBLE))
    key = text.translate(_DROP_INVISIBLE_AND_SPACE).lower().removeprefix("0x")
    return key or None


# Each normaliser maps one raw value (None: the field was absent) to (value, problem): value is what
# the warehouse stores (None: absent, or invalid), problem says why a value is invalid (None: valid).
Normalised = tuple[str | None, str | None]


def _choice(raw: str | None, allowed: Iterable[str], case: Callable[[str], str] = str.lower) -> Normalised:
    text = case(clean_text(raw))
    if not text:
        return None, None
    allowed = tuple(allowed)
    return (text, None) if text in allowed else (None, f"{text!r} is not one of {', '.join(allowed)}")


def winner(raw: str | None) -> Normalised:
    return _choice(raw, vs.WINNERS)


def in_flow_side(raw: str | None) -> Normalised:
    return _choice(raw, vs.IN_FLOW_SIDES)


def education(raw: str | None) -> Normalised:
    return _choice(raw, vs.EDUCATION_LEVELS)


def distribution(raw: str | None) -> Normalised:
    """Case-insensitive ASCII token; empty or absent is DEFAULT_DISTRIBUTION (`live`)."""
    text = clean_text(raw).lower()
    if not text:
        return vs.DEFAULT_DISTRIBUTION, None
    if not text.isascii():
        return None, f"{text!r} is not ASCII after NFKC (a look-alike is not a stream name)"
    if not re.fullmatch(vs.DISTRIBUTION_PATTERN, text):
        return None, f"{text!r} is not a stream name (letters and digits joined by '_', '-' or '.')"
    return text, None


def _flag(raw: str | None, default: str | None = None) -> Normalised:
    text = clean_text(raw).lower()
    if not text:
        return default, None
    if text in vs.TRUE_WORDS:
        return "true", None
    if text in vs.FALSE_WORDS:
        return "false", None
    return None, f"{text!r} is not a boolean"


def flag(raw: str | None) -> Normalised:
    """A boolean as 'true' / 'false'; absent stays absent."""
    return _flag(raw)


def identities_hidden(raw: str | None) -> Normalised:
    """A boolean that defaults to true (DESIGN §2.1)."""
    return _flag(raw, default="true")


def country(raw: str | None) -> Normalised:
    """ISO 3166-1 alpha-2, upper case, checked against the assigned codes."""
    text = clean_text(raw).upper()
    if not text:
        return None, None
    if text in vs.country_codes():
        return text, None
    return None, f"{text!r} is not an assigned ISO 3166-1 alpha-2 code"


def age_band(raw: str | None) -> Normalised:
    """One of the six bands; any dash is '-', spaces are dropped ('25–34', '65 +')."""
    return _choice(raw, vs.AGE_BANDS, case=lambda text: "".join(text.translate(_DASHES).split()))


def profession(raw: str | None) -> Normalised:
    """Free category text, cleaned and lower-cased so that look-alikes do not split a group; control
    characters are dropped (a tab or a line break is a space), so 'nurse<NUL>' is 'nurse'."""
    return clean_text(None if raw is None else raw.translate(_DROP_CONTROL)).lower() or None, None


# Common English names ISO 639 spells otherwise (language detectors and arena logs use them).
LANGUAGE_ALIASES: dict[str, str] = {
    "farsi": "fa",
    "slovene": "sl",
    "haitian creole": "ht",
    "sinhalese": "si",
    "kyrgyz": "ky",
    "pashto": "ps",
    "punjabi": "pa",
    "moldavian": "ro",
    "moldovan": "ro",
    "uyghur": "ug",
    "central khmer": "km",
    "scottish gaelic": "gd",
    "cantonese": "yue",
    "odia": "or",
    "norwegian bokmal": "nb",
    "norwegian bokmål": "nb",
    "dhivehi": "dv",
    "sesotho": "st",
    "setswana": "tn",
    "nyanja": "ny",
    "tongan": "to",
    "greenlandic": "kl",
    "limburgish": "li",
    "alemannic": "gsw",
    "piedmontese": "pms",
    "ilocano": "ilo",
    "kapampangan": "pam",
    "mandarin": "cmn",  # no ISO 639-1 code of its own (zh is the macrolanguage)
    "hakka": "hak",
    "wu": "wuu",
}


@functools.cache
def _language_index() -> dict[str, str]:
    """Lower-case code or English name -> the language's value (vote_schema.language_codes)."""
    import pycountry

    languages = sorted(
        (lang for lang in pycountry.languages if getattr(lang, "type", None) != "S"),
        key=lambda lang: not hasattr(lang, "alpha_2"),  # ISO 639-1 languages win a shared name
    )
    index: dict[str, str] = {}
    for lang in languages:  # codes first, then aliases, then names: a name never shadows a code
        value = getattr(lang, "alpha_2", lang.alpha_3)
        for attr in ("alpha_2", "alpha_3", "bibliographic"):
            if hasattr(lang, attr):
                index.setdefault(getattr(lang, attr).lower(), value)
    for name, value in LANGUAGE_ALIASES.items():
        index.setdefault(name, value)
    for lang in languages:
        value = getattr(lang, "alpha_2", lang.alpha_3)
        for attr in ("name", "common_name", "inverted_name"):
            name = clean_text(getattr(lang, attr, "")).lower()
            if name:
                index.setdefault(name, value)
                index.setdefault(re.sub(r"\s*\(.*\)$", "", name), value)  # "malay (macrolanguage)"
                if attr == "inverted_name" and hasattr(lang, "alpha_2"):
                    index.setdefault(name.split(",")[0], value)  # "greek, modern (1453-)"
    return index


def language(raw: str | None) -> Normalised:
    """ISO 639-1, lower case. Also accepted and mapped: ISO 639-2/3 codes (T or B), English language
    names ("English", "Malay"), and BCP 47 tags by their primary subtag ("pt-BR", "zh_Hant"). A
    language without an ISO 639-1 code keeps its ISO 639-3 code ("yue"). "unknown"-type values
    (vote_schema.UNKNOWN_LANGUAGES) are absent. Anything else is a problem."""
    text = clean_text(raw).lower()
    if not text or text in vs.UNKNOWN_LANGUAGES:
        return None, None
    index = _language_index()
    if text in index:
        return index[text], None
    tag = re.fullmatch(r"([a-z]{2,3})(?:[-_][a-z0-9]{1,8})+", text)
    if tag and tag.group(1) in index:
        return index[tag.group(1)], None
    return None, f"{text!r} is not an ISO 639 code or a language name"


VOTE_FIELDS: dict[str, Callable[[str | None], Normalised]] = {
    "winner": winner,
    "in_flow_side": in_flow_side,
    "distribution": distribution,
    "language": language,
    "identities_hidden": identities_hidden,
    "error_left": flag,
    "error_right": flag,
}
CONTRIBUTOR_FIELDS: dict[str, Callable[[str | None], Normalised]] = {
    "country": country,
    "age_band": age_band,
    "education": education,
    "profession": profession,
    "verified": flag,
}


def provider(raw: str | None) -> Normalised:
    """A registry provider: cleaned like free text (invisible characters, NFKC, whitespace, control characters)
    but its case kept, since it is shown; empty means no provider (the ledger's `unknown`)."""
    return clean_text(None if raw is None else raw.translate(_DROP_CONTROL)) or None, None


# models.csv fields decided here (sql/validate/model_registry.sql joins the mapping as registry_field_map).
REGISTRY_FIELDS: dict[str, Callable[[str | None], Normalised]] = {
    "provider": provider,
    "pre_release": flag,
}


def prompt_value(raw: str | None) -> Normalised:
    key = prompt_key(raw)
    if key is None or re.fullmatch(vs.PROMPT_KEY_PATTERN, key):
        return key, None
    return key, "not 16-128 hex digits after normalisation"


MAPPING_SCHEMA = pa.schema(
    [("field", pa.string()), ("raw", pa.string()), ("value", pa.string()), ("problem", pa.string())]
)


def field_mapping(rows: Iterable[tuple[str, str]]) -> pa.Table:
    """One row per distinct (field, raw value): the decided value and the problem, if any.

    The SQL hands an absent value as "" (so that a join can match it); field 'prompt_hash' holds only
    the values the SQL leaves to Python (non-ASCII once invisible characters are gone)."""
    normalisers = {**VOTE_FIELDS, **CONTRIBUTOR_FIELDS, **REGISTRY_FIELDS, "prompt_hash": prompt_value}
    out: dict[str, list] = {name: [] for name in MAPPING_SCHEMA.names}
    for field, raw in rows:
        value, problem = normalisers[field](raw or None)
        for name, v in zip(MAPPING_SCHEMA.names, (field, raw, value, problem), strict=True):
            out[name].append(v)
    return pa.table(out, schema=MAPPING_SCHEMA)


# --- In the warehouse: the distinct raw values come from SQL, their meaning from here, and the
# answer goes back to the validation statement as a table registered for that statement only.


def vote_sql_params() -> dict[str, object]:
    """The bound parameters of sql/validate/votes_checked_batch.sql, from the one definition of each."""
    return {
        "strip_pattern": STRIP_PATTERN,
        "prompt_key_pattern": vs.PROMPT_KEY_PATTERN,
        "count_pattern": vs.COUNT_PATTERN,
        "timestamp_pattern": vs.TIMESTAMP_PATTERN,
        "control_pattern": CONTROL_PATTERN,
        "model_id_hidden_pattern": MODEL_ID_HIDDEN_PATTERN,
        "integer_id_fields": list(vs.INTEGER_ID_FIELDS),
        "json_integer_types": list(vs.JSON_INTEGER_TYPES),
        "max_count": vs.MAX_COUNT,
        "earliest": vs.EARLIEST_TIMESTAMP,
        "latest": vs.LATEST_TIMESTAMP,
    }


def _run_with_mapping(
    session: WarehouseSession, values_sql: str, values_params: dict, view: str, sql: str, params: dict
) -> pa.Table:
    mapping = field_mapping((r["field"], r["raw"]) for r in session.rows(values_sql, values_params))
    with session.registered(view, mapping):
        session.run(sql, params)
    return mapping


def build_votes_checked_batch(session: WarehouseSession) -> pa.Table:
    """Build votes_checked_batch from the records of pending_vote_files (core/validation.py registers it);
    returns the mapping it joined (one row per distinct raw value of those records)."""
    return _run_with_mapping(
        session,
        "validate/vote_field_values",
        {"strip_pattern": STRIP_PATTERN},
        "vote_field_map",
        "validate/votes_checked_batch",
        vote_sql_params(),
    )


def build_contributors_checked(session: WarehouseSession) -> pa.Table:
    """(Re)build contributors_checked; returns the mapping it joined."""
    return _run_with_mapping(
        session,
        "validate/contributor_field_values",
        {},
        "contributor_field_map",
        "validate/contributors_checked",
        {"earliest": vs.EARLIEST_TIMESTAMP, "latest": vs.LATEST_TIMESTAMP},
    )


def build_model_registry(session: WarehouseSession, in_force_sha256: str | None) -> pa.Table:
    """(Re)build model_registry from the models.csv in force (its sha256, chosen by core/registry.py; None:
    no models.csv, an empty registry); returns the mapping it joined."""
    return _run_with_mapping(
        session,
        "validate/registry_field_values",
        {"registry_sha256": in_force_sha256},
        "registry_field_map",
        "validate/model_registry",
        {"model_id_hidden_pattern": MODEL_ID_HIDDEN_PATTERN, "registry_sha256": in_force_sha256},
    )


def problems(mapping: pa.Table, limit: int = 20) -> list[tuple[str, str, str]]:
    """(field, raw value, problem) of the values that did not normalise, for run metadata."""
    rows = [r for r in mapping.to_pylist() if r["problem"] is not None]
    return [(r["field"], repr(r["raw"]), r["problem"]) for r in rows[:limit]]
