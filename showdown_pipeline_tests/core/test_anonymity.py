"""k-anonymity over the combination of quasi-identifiers (core/anonymity.py), on hostile data.

Each result is checked by applying the plan here, independently of the SQL that applies it in the
pipeline: recode every value through the declared map, drop the suppressed contributors, and count
distinct contributors per row combination and per contributor profile (demographics and the set of
languages of their rows)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from showdown_pipeline.core import anonymity
from showdown_pipeline.core.holdout import K_ANONYMITY

QI = list(anonymity.QUASI_IDENTIFIERS)


def frame(records: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=["contributor_key", *QI]).astype(object)


def applied(rows: pd.DataFrame, plan: anonymity.Anonymisation) -> pd.DataFrame:
    """The rows as the export shows them: suppressed contributors dropped, values recoded."""
    kept = rows[~rows["contributor_key"].isin(set(plan.suppressed["contributor_key"]))].copy()
    for a in QI:
        mapping = plan.recode.get(a, {})
        kept[a] = [mapping.get(v, v) if isinstance(v, str) else v for v in kept[a]]
    return kept


def smallest_class(out: pd.DataFrame) -> int:
    """The fewest contributors holding a row combination, or a contributor's profile (demographics and
    the set of languages of their rows), whichever is smaller."""
    if out.empty:
        return 10**9
    filled = out.fillna("<NULL>")
    holders = filled.groupby(QI)["contributor_key"].nunique()
    profiles = filled.groupby("contributor_key").agg(
        {**{a: "first" for a in QI[:4]}, "language": lambda s: "|".join(sorted(set(s)))}
    )
    return int(min(holders.min(), profiles.value_counts().min()))


def crowd(n: int, start: int = 0, **values) -> list[tuple]:
    base = {
        "country": "BR",
        "age_band": "25-34",
        "education": "master",
        "profession": "nurse",
        "language": "pt",
    }
    base.update(values)
    return [(f"c{start + i}", *(base[a] for a in QI)) for i in range(n)]


def test_a_unique_person_is_generalised_or_suppressed_and_the_crowd_keeps_its_values():
    rows = frame(
        crowd(40)
        + crowd(30, start=100, country="DE", language="de")
        + [("lonely", "IS", "65+", "doctorate", "volcanologist", "is")]
    )
    plan = anonymity.anonymise(rows)
    out = applied(rows, plan)
    assert smallest_class(out) >= K_ANONYMITY
    lonely = out[out["contributor_key"] == "lonely"]
    for a, raw in zip(QI, ("IS", "65+", "doctorate", "volcanologist", "is"), strict=True):
        assert raw not in set(out[a]), a  # the rare values are gone from every row
    assert lonely.empty  # one person cannot hide in a class of ten: suppressed
    assert plan.report()["contributors_with_suppressed_votes"] == 1
    # the crowd's values were not dragged up by one outlier (value-level recoding)
    assert {"BR", "DE"} <= set(out["country"]) and set(out["profession"]) == {"nurse"}


def test_per_column_k_is_not_enough_the_combination_is_made_k_anonymous():
    # each value is held by 20 contributors, but every (country, age band) pair by only 5
    ages = ["25-34", "35-44", "45-54", "55-64"]
    rows = frame(
        [(f"c{k}", "BR" if k % 2 else "DE", ages[(k // 2) % 4], "master", "nurse", "en") for k in range(40)]
    )
    for a in QI:
        assert rows.groupby(a)["contributor_key"].nunique().min() >= K_ANONYMITY  # old per-column rule: fine
    assert smallest_class(rows) == 5
    plan = anonymity.anonymise(rows)
    out = applied(rows, plan)
    assert smallest_class(out) >= K_ANONYMITY
    assert len(out) == 40  # generalisation alone was enough: nobody suppressed


def test_a_contributor_voting_in_several_languages_keeps_one_profile_and_is_k_anonymous():
    rows = frame(
        crowd(20, language="en")
        + crowd(20, start=20, language="pt")
        + crowd(3, start=40, language="fr")  # three people write French too …
        + [("poly", "BR", "25-34", "master", "nurse", lang) for lang in ("en", "pt", "fr", "sw")]
    )
    plan = anonymity.anonymise(rows)
    out = applied(rows, plan)
    assert smallest_class(out) >= K_ANONYMITY
    profiles = out.groupby("contributor_key")[QI[:4]].nunique()
    assert (profiles <= 1).all().all()  # a contributor's demographics are the same in all their rows
    # nobody else votes in {en, pt, fr, sw}, nor in French alone: no coarser value hides four people, so
    # they are suppressed (all their votes), and the crowd keeps every value (nothing generalised for nothing)
    assert not any(plan.recode.values())
    assert "poly" not in set(out["contributor_key"]) and len(plan.suppressed) == 4
    assert set(out["language"]) == {"en", "pt"} and set(out["profession"]) == {"nurse"}


def test_the_set_of_languages_under_one_pseudonym_is_part_of_the_profile():
    """Issue-11 review, P1: every (demographics, language) ROW combination here is held by ≥ 10
    contributors, but the bilingual contributor is the only pseudonym voting in English AND Portuguese:
    whoever knows one such person has their whole history. Fails on the row-level rule, which exported
    them untouched."""
    rows = frame(
        crowd(30, language="en")
        + crowd(10, start=100, language="pt")
        + [("bilingual", "BR", "25-34", "master", "nurse", lang) for lang in ("en", "pt")]
    )
    assert rows.groupby(QI)["contributor_key"].nunique().min() >= K_ANONYMITY  # the row-level rule holds
    plan = anonymity.anonymise(rows)
    out = applied(rows, plan)
    assert smallest_class(out) >= K_ANONYMITY
    assert "bilingual" not in set(out["contributor_key"])  # one of a kind, so suppressed (within budget)
    assert plan.suppressed.to_dict("records") == [
        {
            "contributor_key": "bilingual",
            "country": "BR",
            "age_band": "25-34",
            "education": "master",
            "profession": "nurse",
            "languages": ["en", "pt"],
        }
    ]


def test_many_people_with_rare_second_languages_are_generalised_not_suppressed():
    """60 people who vote in English and one rare language each: each set is unique, too many to
    suppress (budget max(10, 1%)), so the rare languages become `other` and the 60 share {en, other}."""
    rows = frame(
        crowd(400, language="en")
        + [
            (f"c{500 + i}", "BR", "25-34", "master", "nurse", lang)
            for i in range(60)
            for lang in ("en", f"l{i}")
        ]
    )
    plan = anonymity.anonymise(rows)
    out = applied(rows, plan)
    assert smallest_class(out) >= K_ANONYMITY
    assert plan.recode["language"] == {f"l{i}": "other" for i in range(60)}
    assert plan.suppressed.empty and out["contributor_key"].nunique() == 460
    second = out[out["contributor_key"] == "c500"]
    assert sorted(second["language"]) == ["en", "other"]


def test_everybody_unique_ends_k_anonymous_with_values_recoded_not_shuffled():
    rng = np.random.default_rng(5)
    countries = sorted(anonymity.m49_regions())
    rows = frame(
        [
            (f"c{i}", countries[i % len(countries)], "18-24", "bachelor", f"job-{i}", f"l{i % 97}")
            for i in range(300)
        ]
    ).sample(frac=1.0, random_state=int(rng.integers(1000)))
    assert smallest_class(rows) == 1
    plan = anonymity.anonymise(rows)
    out = applied(rows, plan)
    assert smallest_class(out) >= K_ANONYMITY
    assert set(plan.recode["profession"].values()) == {"other"}
    assert len(out["contributor_key"].unique()) >= 300 * 0.9
    # every generalised country went up its M49 hierarchy (sub-region, region) or to 'other'
    regions = anonymity.m49_regions()
    for country, output in plan.recode["country"].items():
        assert output in (*regions[country], "other")


def test_suppression_when_nothing_coarser_helps():
    # nine people with no verified profile (NULL is never generalised) in a language of their own
    rows = frame(crowd(50) + [(f"u{i}", None, None, None, None, "en") for i in range(9)])
    plan = anonymity.anonymise(rows)
    out = applied(rows, plan)
    assert smallest_class(out) >= K_ANONYMITY
    assert not any(out["contributor_key"].str.startswith("u"))
    report = plan.report()
    assert report["contributors_with_suppressed_votes"] == 9 and len(plan.suppressed) == 9
    assert any("suppress" in s for s in report["steps"])


def test_rare_languages_never_drag_english_to_other_and_the_few_left_are_suppressed():
    """60 + 12 people each in a language of their own must share `other`; English, which 208 hold, is
    not what singles anyone out, so it is never lifted with them (lifting every language a small
    contributor holds took English to `other`, to be taken back only if the suppression budget allowed:
    on the 300k demo world it did not). Three Argentinians and five German volcanologists, whom no
    coarser value hides, are suppressed (within max(k, 1%)). Taking back needless generalisations is
    still exercised by the property tests (seeds 3, 7, 8, 10)."""
    rows = frame(
        crowd(200, language="en")
        + [(f"rare{i}", "BR", "25-34", "master", "nurse", f"l{i}") for i in range(60)]
        + crowd(5, start=500, country="DE", age_band="65+", profession="volcanologist", language="en")
        + crowd(3, start=600, country="AR", language="en")
        + [(f"ar{i}", "AR", "25-34", "master", "nurse", f"m{i}") for i in range(12)]
    )
    plan = anonymity.anonymise(rows)
    out = applied(rows, plan)
    assert smallest_class(out) >= K_ANONYMITY
    assert "en" in set(out["language"]) and "en" not in plan.recode["language"]
    gone = set(rows["contributor_key"]) - set(out["contributor_key"])
    assert gone == {f"c{i}" for i in (500, 501, 502, 503, 504, 600, 601, 602)}
    assert set(plan.recode["language"]) == {f"l{i}" for i in range(60)} | {f"m{i}" for i in range(12)}


def test_fewer_than_k_contributors_in_all_means_an_empty_export():
    rows = frame(crowd(9))
    out = applied(rows, anonymity.anonymise(rows))
    assert out.empty
    nothing = anonymity.anonymise(frame([]))  # an export as of a date before any vote
    assert nothing.suppressed.empty and not any(nothing.recode.values())


@pytest.mark.parametrize("seed", range(12))
def test_property_every_combination_held_by_k_contributors(seed):
    """Random worlds with skewed, heavy-tailed values, NULLs, look-alike and hostile strings and several
    languages per person: every combination in the result is held by ≥ k contributors, each original
    value maps to one output, and suppression stays small unless the world is tiny."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 1500))
    countries = ["BR", "DE", "US", "IN", "IS", "XK", "br", "ＢＲ", '"><img src=x>', "NA"]
    records = []
    for i in range(n):
        profile = (
            countries[min(int(rng.zipf(1.6)) - 1, len(countries) - 1)],
            rng.choice(["18-24", "25-34", "35-44", "45-54", "55-64", "65+", "12-17"]),
            rng.choice(["primary", "secondary", "vocational", "bachelor", "master", "doctorate", "other"]),
            f"job-{min(int(rng.zipf(1.3)), 400)}",
        )
        if rng.random() < 0.05:
            profile = (None, None, None, None)
        for lang in {f"l{min(int(rng.zipf(1.5)), 80)}" for _ in range(int(rng.integers(1, 4)))}:
            records.append((f"c{i}", *profile, lang))
    rows = frame(records)
    plan = anonymity.anonymise(rows)
    out = applied(rows, plan)
    assert smallest_class(out) >= K_ANONYMITY
    for a in QI:  # global recoding: the output of a value does not depend on the row
        pairs = pd.DataFrame({"raw": rows[a], "out": [plan.recode[a].get(v, v) for v in rows[a]]}).dropna()
        assert (pairs.groupby("raw")["out"].nunique() <= 1).all()
    if n >= 500:
        assert out["contributor_key"].nunique() >= 0.95 * n


@pytest.mark.parametrize("seed", range(4))
def test_two_licensees_get_the_same_recoding_whatever_their_keys_and_row_order(seed):
    """Keys differ per licensee and SQL returns rows in any order: if either changed the recoding, two
    colluding licensees of the same as-of could combine two different generalisations of one person."""
    rng = np.random.default_rng(seed)
    records = [
        (
            f"c{i}",
            rng.choice(["BR", "DE", "IS", "NO", "AR"]),
            rng.choice(["25-34", "35-44", "65+"]),
            rng.choice(["master", "primary"]),
            f"job-{int(rng.zipf(1.4)) % 30}",
            rng.choice(["en", "pt", "is"]),
        )
        for i in range(400)
    ]
    rows = frame(records)
    rekey = lambda c: hashlib.sha256(f"licensee-b:{c}".encode()).hexdigest()  # noqa: E731
    other = rows.assign(contributor_key=rows["contributor_key"].map(rekey))
    other = other.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    first, second = anonymity.anonymise(rows), anonymity.anonymise(other)
    assert first.recode == second.recode and first.steps == second.steps

    def gone(plan):
        return sorted(
            (*(v or "" for v in r[1:5]), tuple(r[5])) for r in plan.suppressed.itertuples(index=False)
        )

    assert gone(first) == gone(second)


def test_generalisation_hierarchies():
    g = anonymity.generalise
    assert g("country", "IS") == "Northern Europe" and g("country", "Northern Europe") == "Europe"
    assert g("country", "Europe") == "other" and g("country", "other") is None
    assert g("country", "NA") == "Sub-Saharan Africa"  # Namibia, not a missing value
    assert g("country", "TW") == "Eastern Asia"  # reviewed: not listed by M49
    assert g("country", "XK") == "other" and g("country", "AQ") == "other"
    assert g("age_band", "65+") == "55+" and g("age_band", "55+") == "other"
    assert g("education", "vocational") == "school" and g("education", "doctorate") == "tertiary"
    assert g("education", "tertiary") == "other" and g("profession", "nurse") == "other"
    assert g("language", "en") == "other" and g("language", None) is None
    assert len(anonymity.m49_regions()) == 248  # 249 ISO codes less Antarctica, which M49 leaves out


def test_small_segments_are_withheld_from_the_public_board():
    board = pd.DataFrame(
        {
            "board": ["raw"] * 6,
            "segment_dim": ["overall", "country", "country", "country", "language", "language"],
            "segment_value": ["all", "BR", "IS", "IS", "en", "xx"],
            "model_id": ["m", "m", "m", "n", "m", "m"],
        }
    )
    voters = pd.DataFrame(
        {
            "segment_dim": ["country", "country", "language"],
            "segment_value": ["BR", "IS", "en"],
            "voters": [K_ANONYMITY, K_ANONYMITY - 1, 500],
        }
    )
    kept, withheld = anonymity.withhold_small_segments(board, voters)
    assert list(zip(kept["segment_dim"], kept["segment_value"], strict=True)) == [
        ("overall", "all"),
        ("country", "BR"),
        ("language", "en"),
    ]
    # a value the voter count does not know is treated as held by nobody
    assert withheld == {
        "country": {"min_voters": K_ANONYMITY, "values": 1, "rows": 2},
        "language": {"min_voters": K_ANONYMITY, "values": 1, "rows": 1},
    }


def test_notes_about_a_withheld_segment_value_are_withheld_with_it():
    """A segment fit's fallback note names its value (`country = IS: …`); published in the manifest it
    would name a value the board withholds. Only the notes of withheld values go, from every board's
    parameters, and each board counts what it lost."""
    parameters = {
        "raw": {"notes": ["overall: lstsq fallback"]},
        "country": {
            "notes": ["country = IS: pinv fallback", "country = BR: pinv fallback", "country = ISL: x"]
        },
        "style_country": {"notes": ["country = IS: line search stopped"]},
        "profession": {"notes": [], "style": {"notes": ["country = IS: nested", "profession = nurse: kept"]}},
        "language": {"notes": ["language = is: pinv fallback"]},
        "seed": 7,
    }
    anonymity.withhold_notes_of_segments(parameters, {("country", "IS")})
    assert parameters["raw"] == {"notes": ["overall: lstsq fallback"]}
    assert parameters["country"] == {
        "notes": ["country = BR: pinv fallback", "country = ISL: x"],
        "notes_withheld": 1,
    }
    assert parameters["style_country"] == {"notes": [], "notes_withheld": 1}
    assert parameters["language"] == {"notes": ["language = is: pinv fallback"]}  # another dimension's value
    assert parameters["profession"] == {
        "notes": [],
        "style": {"notes": ["profession = nurse: kept"], "notes_withheld": 1},
    }
    assert parameters["seed"] == 7
