"""core/normalise.py: what every delivered spelling of an enumerated value means, decided in one place."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from showdown_pipeline.core import normalise as n
from showdown_pipeline.core import vote_schema as vs

# The characters an upstream (or an attacker) can hide in a value without changing how it looks.
HIDDEN = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "BOM / zero-width no-break space": "\ufeff",
    "word joiner": "\u2060",
    "soft hyphen": "\u00ad",
    "left-to-right mark": "\u200e",
    "right-to-left override": "\u202e",
    "first strong isolate": "\u2068",
    "Mongolian vowel separator": "\u180e",
    "tag latin small letter l": "\U000e006c",
    "variation selector 16": "\ufe0f",
    "combining grapheme joiner": "\u034f",
    "Hangul filler": "\u3164",
    "braille blank": "\u2800",
}


@pytest.mark.parametrize("name", sorted(HIDDEN))
def test_every_invisible_character_is_removed_anywhere_in_a_value(name):
    ch = HIDDEN[name]
    assert ch in n.INVISIBLE
    assert n.clean_text(f"{ch}li{ch}ve{ch}") == "live"
    assert n.distribution(f"li{ch}ve") == ("live", None)


def test_every_format_character_is_invisible_and_no_visible_letter_is():
    import sys

    cf = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"}
    assert cf <= n.INVISIBLE
    assert not {c for c in n.INVISIBLE if unicodedata.category(c)[0] in "LNPS" and c not in n.EXTRA_INVISIBLE}
    assert not set("abcdefghijklmnopqrstuvwxyz0123456789-_+ ") & n.INVISIBLE


@pytest.mark.parametrize(
    "spelling",
    [
        "live",
        "Live",
        "LIVE",
        " live ",
        "live\u200b",
        "\u00a0live",
        "\ufefflive",
        "ＬＩＶＥ",
        "l\u00adive",
        "\tlive\n",
    ],
)
def test_spellings_of_live_are_live(spelling):
    assert n.distribution(spelling) == ("live", None)


@pytest.mark.parametrize(
    "look_alike",
    [
        "l\u0456ve",  # Cyrillic і
        "liv\u0435",  # Cyrillic е
        "\u029five",  # Latin letter small capital L
        "l\u0131ve",  # dotless ı
        "liv\u00e9",  # é
        "live\x00",  # a control character
        "live!",
        "li ve",
    ],
)
def test_look_alikes_of_live_are_invalid_never_a_stream_of_their_own(look_alike):
    value, problem = n.distribution(look_alike)
    assert value is None and problem


def test_absent_distribution_is_live_and_other_streams_are_tokens():
    assert n.distribution(None) == ("live", None)
    assert n.distribution("") == ("live", None)
    assert n.distribution(" \u200b ") == ("live", None)
    assert n.distribution("Offline") == ("offline", None)
    assert n.distribution("arena") == ("arena", None)
    assert n.distribution("eval-set.v2") == ("eval-set.v2", None)


def test_winner_is_case_insensitive_and_nothing_else_is_a_winner():
    assert n.winner(" LEFT ") == ("left", None)
    assert n.winner("Both_Good\u200b") == ("both_good", None)
    assert n.winner("ｒｉｇｈｔ") == ("right", None)
    for other in ("tie", "draw", "both good", "lеft"):  # the last has a Cyrillic е
        assert n.winner(other)[0] is None and n.winner(other)[1]
    assert n.winner("") == (None, None) and n.winner("\u200b") == (None, None)  # absent: missing, not invalid


def test_in_flow_side():
    assert n.in_flow_side("Right ") == ("right", None)
    assert n.in_flow_side("middle")[1]
    assert n.in_flow_side(None) == (None, None)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("en", "en"),
        ("EN", "en"),
        (" en\u200b", "en"),
        ("eng", "en"),  # ISO 639-2/T and 639-3
        ("fre", "fr"),  # ISO 639-2/B
        ("fra", "fr"),
        ("English", "en"),  # LMArena logs carry names
        ("CHINESE", "zh"),
        ("Greek", "el"),
        ("Malay", "ms"),
        ("Swahili", "sw"),
        ("Farsi", "fa"),
        ("pt-BR", "pt"),  # BCP 47: the primary subtag
        ("zh_Hant", "zh"),
        ("Cantonese", "yue"),  # no ISO 639-1 code: ISO 639-3
        ("fil", "fil"),
        ("na", "na"),  # Nauru, not "n/a"
    ],
)
def test_language_codes_and_names_map_to_iso_639_1(raw, code):
    assert n.language(raw) == (code, None)
    assert code in vs.language_codes()


def test_every_language_alias_names_a_language_value():
    assert set(n.LANGUAGE_ALIASES.values()) <= vs.language_codes()
    for name, code in n.LANGUAGE_ALIASES.items():
        assert n.language(name.title()) == (code, None)


@pytest.mark.parametrize("raw", ["unknown", "Unknown", "und", "zxx", "mul", "n/a", "", None])
def test_unknown_language_is_absent(raw):
    assert n.language(raw) == (None, None)


@pytest.mark.parametrize("raw", ["xx", "qq-ZZ", "Elvish", "e n", "еn"])  # the last has a Cyrillic е
def test_anything_else_is_an_invalid_language(raw):
    value, problem = n.language(raw)
    assert value is None and problem


def test_country_is_an_assigned_alpha_2_code():
    assert n.country("br") == ("BR", None)
    assert n.country(" ＤＥ ") == ("DE", None)
    for bad in ("UK", "XX", "XK", "BRA", "Brazil", "\u0412R", "B R"):  # UK/XK are not assigned; В is Cyrillic
        assert n.country(bad)[0] is None and n.country(bad)[1], bad
    assert n.country("") == (None, None)
    assert len(vs.country_codes()) == 249


@pytest.mark.parametrize(
    ("raw", "band"),
    [
        ("25-34", "25-34"),
        ("25–34", "25-34"),
        ("25 — 34", "25-34"),
        ("25\u221234", "25-34"),
        ("65 +", "65+"),
        ("６５＋", "65+"),
    ],
)
def test_age_band_folds_dashes_and_spaces(raw, band):
    assert n.age_band(raw) == (band, None)


def test_age_band_education_profession_and_flags():
    assert n.age_band("12-17")[1] and n.age_band("65")[1]
    assert n.education(" Master ") == ("master", None)
    assert n.education("phd")[1]
    assert n.profession("  Software\u00a0 Engineer\u200b") == ("software engineer", None)
    assert n.profession("ｎｕｒｓｅ") == n.profession("nurse") == ("nurse", None)
    assert n.profession("") == (None, None)
    assert n.flag("TRUE") == ("true", None) and n.flag("0") == ("false", None) and n.flag("") == (None, None)
    assert n.flag("maybe")[1] and n.flag("2")[1]
    assert n.identities_hidden(None) == ("true", None)  # DESIGN §2.1: default true
    assert n.identities_hidden(" No ") == ("false", None)


@pytest.mark.parametrize(
    "spelling",
    [
        "0123456789abcdef",
        "0123456789ABCDEF",
        "0x0123456789abcdef",
        "0X0123456789ABCDEF",
        " 0123 4567 89ab cdef ",
        "0123456789abcdef\u200b",
        "\ufeff0123456789abcdef",
        "０１２３４５６７８９ａｂｃｄｅｆ",
        "01234567\u00a089abcdef",
        "0123456789abc\u00addef",
    ],
)
def test_one_prompt_key_for_every_spelling_of_a_prompt_hash(spelling):
    assert n.prompt_key(spelling) == "0123456789abcdef"
    assert n.prompt_value(spelling) == ("0123456789abcdef", None)


@pytest.mark.parametrize(
    "bad", ["p-a", "0123456789abcde", "0123456789abcdeg", "a" * 129, "0x0x0123456789abcdef"]
)
def test_prompt_keys_that_are_not_16_to_128_hex_digits_are_a_problem(bad):
    assert n.prompt_value(bad)[1]


def test_strip_pattern_matches_exactly_the_invisible_and_whitespace_characters():
    import sys

    # RE2's \x{HHHH} ranges, read back: exactly the characters the Python key removes
    ranges = re.findall(r"\\x\{([0-9A-F]+)\}(?:-\\x\{([0-9A-F]+)\})?", n.STRIP_PATTERN)
    covered = {chr(c) for lo, hi in ranges for c in range(int(lo, 16), int(hi or lo, 16) + 1)}
    assert covered == n.INVISIBLE | n.WHITESPACE
    assert all(
        chr(c).isspace() for c in range(sys.maxunicode + 1) if chr(c) in covered and chr(c) not in n.INVISIBLE
    )


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_clean_text_is_idempotent_and_leaves_nothing_invisible(text):
    once = n.clean_text(text)
    assert n.clean_text(once) == once
    assert not set(once) & n.INVISIBLE
    assert once == once.strip() and "  " not in once
    assert unicodedata.normalize("NFKC", once) == once


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_every_field_decides_every_text_without_raising(text):
    for normaliser in (*n.VOTE_FIELDS.values(), *n.CONTRIBUTOR_FIELDS.values(), n.prompt_value):
        value, problem = normaliser(text)
        assert value is None or isinstance(value, str)
        assert problem is None or (isinstance(problem, str) and problem)
    value, problem = n.distribution(text)
    assert (value is None) == (problem is not None)
    if value is not None:
        assert value.isascii() and re.fullmatch(vs.DISTRIBUTION_PATTERN, value)


def test_field_mapping_is_one_row_per_distinct_value_with_its_decision():
    table = n.field_mapping(
        [("distribution", ""), ("distribution", "Live"), ("winner", "tie"), ("language", "English")]
    )
    rows = table.to_pylist()
    assert rows == [
        {"field": "distribution", "raw": "", "value": "live", "problem": None},
        {"field": "distribution", "raw": "Live", "value": "live", "problem": None},
        {"field": "winner", "raw": "tie", "value": None, "problem": rows[2]["problem"]},
        {"field": "language", "raw": "English", "value": "en", "problem": None},
    ]
    assert "tie" in rows[2]["problem"]
    assert n.problems(table) == [("winner", "'tie'", rows[2]["problem"])]
