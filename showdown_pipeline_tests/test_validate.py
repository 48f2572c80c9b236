"""Ingest + validate + dedupe on a landing zone holding every kind of bad input (real assets, in-process)."""

from __future__ import annotations

import contextlib
import gc

import duckdb
import pandas as pd
import pytest

from showdown_pipeline.core.breakers import BREAKER_NAMES
from showdown_pipeline.core.vote_schema import QUARANTINE_REASONS
from showdown_pipeline_tests.conftest import (
    check_evaluations,
    copy_home,
    materialization_metadata,
    materialize_pipeline,
    materialize_validation,
)


@pytest.fixture(scope="module")
def messy_run(published_template, tmp_path_factory):
    """The session's end-to-end run of the messy landing zone (this module reads its own copy)."""
    home = copy_home(published_template.home, tmp_path_factory.mktemp("messy") / "home")
    return published_template.landing, home, published_template.result


def query(home, sql, params=None):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute(sql, params or {}).fetchall()


def test_run_succeeds_and_every_check_passes(messy_run):
    _, _, result = messy_run
    assert result.success
    checks = check_evaluations(result)
    validation = {"input_rows_reconcile", "no_duplicate_vote_ids", "votes_clean_passes_expectations"}
    assert set(checks) == validation | set(BREAKER_NAMES)
    assert all(c.passed for c in checks.values())


def test_every_bad_row_is_quarantined_with_its_reason(messy_run):
    landing, home, _ = messy_run
    got = dict(query(home, "SELECT vote_id, reason FROM vote_quarantine WHERE vote_id IS NOT NULL"))
    assert got == landing.expected_reasons
    unparseable = query(
        home, "SELECT record FROM vote_quarantine WHERE reason = 'unparseable_line' ORDER BY source_row"
    )
    assert [r[0] for r in unparseable] == ["this is not json {", "[1, 2, 3]"]
    assert {r for (r,) in query(home, "SELECT DISTINCT reason FROM vote_quarantine")} <= set(
        QUARANTINE_REASONS
    )


def test_unknown_winner_is_never_a_tie(messy_run):
    _, home, _ = messy_run
    assert query(home, "SELECT count(*) FROM votes_clean WHERE vote_id IN ('v-1000', 'v-1010')") == [(0,)]
    detail = dict(
        query(home, "SELECT vote_id, reason_detail FROM vote_quarantine WHERE reason = 'invalid_winner'")
    )
    assert detail == {"v-1000": "tie", "v-1010": "draw"}


def test_quarantine_keeps_every_reason_and_the_record(messy_run):
    _, home, _ = messy_run
    rows = query(home, "SELECT reasons, record, reason_detail FROM vote_quarantine WHERE vote_id = 'v-1003'")
    reasons, record, detail = rows[0]
    assert reasons == ["missing_required_field"] and detail == "user_id"
    assert '"vote_id":"v-1003"' in record


def test_duplicates_point_at_the_kept_row(messy_run):
    landing, home, _ = messy_run
    rows = query(
        home,
        "SELECT d.reason, d.vote_id, k.vote_id, k.exported_at FROM vote_duplicates d "
        "JOIN votes_checked k ON k.row_key = d.kept_row_key ORDER BY d.reason",
    )
    by_reason = {r[0]: r for r in rows}
    assert {r: by_reason[r][1] for r in by_reason} == landing.expected_duplicates
    assert by_reason["exact_duplicate"][2] == "v-5"
    assert by_reason["duplicate_user_battle"][2] == "v-7"
    # The re-export with the later exported_at is the one that counts, with its corrected winner.
    superseded = query(
        home,
        "SELECT c.winner, c.exported_at > o.exported_at FROM votes_clean c, votes_checked o "
        "WHERE c.vote_id = 'v-6' AND o.row_key = (SELECT row_key FROM vote_duplicates WHERE reason = 'superseded')",
    )
    assert superseded and superseded[0][1] is True


def test_reconciliation_metadata_adds_up(messy_run):
    landing, _, result = messy_run
    check = check_evaluations(result)["input_rows_reconcile"]
    meta = {k: v.value for k, v in check.metadata.items()}
    assert meta["rows_in"] == landing.rows_in
    assert meta["valid"] == landing.valid_votes
    assert meta["duplicates"] == 3
    assert meta["quarantined"] == len(landing.expected_reasons) + 2
    assert meta["rows_in"] == meta["valid"] + meta["duplicates"] + meta["quarantined"]
    clean = materialization_metadata(result, "votes_clean")
    assert clean["dagster/row_count"] == landing.valid_votes
    assert clean["drop_reasons"]["quarantined:invalid_winner"] == 2


def test_unreadable_files_are_rejected_with_their_error_and_the_rest_counts(messy_run):
    landing, home, result = messy_run
    rejected = dict(query(home, "SELECT path, error FROM landing_files WHERE status = 'rejected'"))
    assert set(rejected) == landing.rejected_files
    assert "GZIP" in rejected["votes/2026-03-03/truncated.jsonl.gz"].upper()
    assert "magic" in rejected["votes/2026-03-03/random.parquet"].lower()
    assert "utf-8" in rejected["votes/2026-03-03/latin1.jsonl"].lower()
    assert "unsupported" in rejected["votes/2026-03-03/notes.txt"]
    assert query(home, "SELECT sum(rows_in) FROM landing_files WHERE status = 'rejected'") == [(0,)]
    meta = materialization_metadata(result, "landing_files")
    assert meta["files_rejected"] == 4 and meta["files_ingested"] == 5  # models, contributors, 3 vote files


def test_parquet_and_gzip_votes_count(messy_run):
    _, home, _ = messy_run
    per_file = dict(
        query(
            home,
            "SELECT f.path, count(*) FROM votes_clean v JOIN landing_files f ON f.sha256 = v.source_sha256 GROUP BY 1",
        )
    )
    assert per_file["votes/2026-03-03/votes.parquet"] == 50
    assert per_file["votes/2026-03-02/votes.jsonl.gz"] == 51  # 50 new + the corrected v-6


def test_latest_verified_contributor_record_wins(messy_run):
    _, home, _ = messy_run
    assert query(home, "SELECT country, profession FROM contributor_profiles WHERE user_id = 'u-1'") == [
        ("FR", "teacher")
    ]
    reasons = dict(
        query(home, "SELECT reason, count(*) FROM contributors_checked WHERE reason IS NOT NULL GROUP BY 1")
    )
    assert reasons == {"invalid_field": 1, "unparseable_line": 1}
    # u-2's invalid later record does not replace its valid one
    assert query(home, "SELECT age_band FROM contributor_profiles WHERE user_id = 'u-2'") == [("25-34",)]


def test_second_run_over_the_same_landing_changes_no_count(validated_template, tmp_path):
    """Ingest and validate again (those stages alone) over the same landing zone: no file is read twice
    and no count moves."""
    landing = validated_template.landing
    home = copy_home(validated_template.home, tmp_path / "home")
    before = query(
        home,
        "SELECT count(*) FROM raw_votes UNION ALL SELECT count(*) FROM votes_clean UNION ALL SELECT count(*) FROM vote_quarantine",
    )
    second = materialize_pipeline(landing.root, home, stages=("ingest", "validate"))
    assert second.success
    after = query(
        home,
        "SELECT count(*) FROM raw_votes UNION ALL SELECT count(*) FROM votes_clean UNION ALL SELECT count(*) FROM vote_quarantine",
    )
    assert before == after
    meta = materialization_metadata(second, "landing_files")
    assert meta["files_ingested"] == 0 and meta["files_unchanged"] == meta["files_seen"]
    assert materialization_metadata(second, "raw_votes")["rows_added"] == 0


def test_gx_suite_blocks_ratings_when_counted_votes_break_it(messy_run, tmp_path):
    """Corrupt a counted row as validation would write it (the suite checks the rows written since it last
    passed, votes_clean_unchecked: core/expectations.validate_unchecked_votes): the GX check fails and blocks
    ratings."""
    import dagster as dg

    from showdown_pipeline.definitions import ASSETS
    from showdown_pipeline.defs.resources import build_resources
    from showdown_pipeline.defs.validate.checks import votes_clean_passes_expectations

    landing, home, _ = messy_run
    import shutil

    copy = tmp_path / "home"
    copy.mkdir()
    shutil.copy(home / "warehouse.duckdb", copy / "warehouse.duckdb")
    with duckdb.connect(str(copy / "warehouse.duckdb")) as conn:
        conn.execute("UPDATE votes_clean SET winner = 'tie' WHERE vote_id = 'v-1'")
        conn.execute(
            "INSERT INTO votes_clean_unchecked SELECT row_key FROM votes_clean WHERE vote_id = 'v-1'"
        )
    ratings = next(a for a in ASSETS if dg.AssetKey("overall_ratings") in a.keys)
    checks_only = dg.materialize(
        [votes_clean_passes_expectations, ratings],
        selection=dg.AssetSelection.assets(*ratings.keys)
        | dg.AssetSelection.checks(votes_clean_passes_expectations),
        resources=build_resources(landing.root, copy),
        tags={"showdown/as_of": "2026-06-01"},
        raise_on_error=False,
    )
    evaluation = check_evaluations(checks_only)["votes_clean_passes_expectations"]
    assert not evaluation.passed
    failed = evaluation.metadata["failed_expectations"].value
    assert any(f["column"] == "winner" and f["unexpected"] == 1 for f in failed)


def _suite_frame(home):
    """The counted votes' columns the GX suite reads, in row_key order."""
    from showdown_pipeline.core import expectations

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        select = "SELECT " + ", ".join(expectations.SUITE_COLUMNS) + " FROM votes_clean ORDER BY row_key"  # noqa: S608 - the suite's own column names
        return conn.sql(select).to_arrow_table().to_pandas()


def test_gx_suite_rechecks_every_normalised_field(messy_run):
    """The suite independently re-checks the normaliser's output: one spelling per value, in its set."""
    from showdown_pipeline.core import expectations

    _, home, _ = messy_run
    frame = _suite_frame(home)
    assert expectations.validate_votes(frame)[0]
    tampered = {
        "distribution": "Live",
        "in_flow_side": "LEFT",
        "language": "English",
        "prompt_hash": "0123456789ABCDEF",
        "country": "UK",
        "age_band": "25–34",
        "education": "Master",
        "winner": "Left",
    }
    for k, (column, value) in enumerate(tampered.items()):
        frame.loc[k, column] = value
    success, outcomes = expectations.validate_votes(frame)
    assert not success
    failed = {o.column: o.unexpected_count for o in outcomes if not o.success}
    assert failed == dict.fromkeys(tampered, 1)


@pytest.fixture(scope="module")
def spelled_run(tmp_path_factory):
    """Votes, arena rows and contributors whose enumerated values arrive in many spellings."""
    from showdown_pipeline_tests.landing_builder import vote, write_jsonl

    root = tmp_path_factory.mktemp("spelled")
    landing = root / "landing"
    votes = {
        "winner-upper": vote(1, winner=" LEFT "),
        "winner-fullwidth": vote(2, winner="ｂｏｔｈ＿ｇｏｏｄ"),
        "side-zero-width": vote(3, in_flow_side="right\u200b"),
        "side-bad": vote(4, in_flow_side="center"),
        "language-name": vote(5, language="Portuguese"),
        "language-tag": vote(6, language="pt-BR"),
        "language-unknown": vote(7, language="unknown"),
        "language-bad": vote(8, language="Elvish"),
        "flag-word": vote(9, error_left="No", identities_hidden="YES"),
        "flag-bad": vote(10, error_right="maybe"),
        "prompt-bad": vote(11, prompt_hash="p-a"),
        "two-bad": vote(12, distribution="l\u0456ve", language="xx"),
    }
    write_jsonl(landing / "votes" / "votes.jsonl", [dict(v, vote_id=k) for k, v in votes.items()])
    arena = [
        {
            "model_a": "m-a",
            "model_b": "m-b",
            "winner": "model_a",
            "language": lang,
            "judge": f"j{k}",
            "anony": True,
        }
        for k, lang in enumerate(["English", "unknown", "Chinese", "Elvish"])
    ]
    write_jsonl(landing / "arena" / "log.jsonl", arena)
    people = [
        {
            "user_id": "u-0",
            "country": "br",
            "age_band": "25–34",
            "education": "Master",
            "profession": "Nurse\u00a0",
        },
        {
            "user_id": "u-1",
            "country": " DE\u200b",
            "age_band": "65 +",
            "education": "doctorate",
            "profession": "nurse",
        },
        {"user_id": "u-2", "country": "ＦＲ", "age_band": "18-24", "profession": "ｎｕｒｓｅ"},
        {"user_id": "u-3", "country": "UK", "age_band": "25-34"},
        {"user_id": "u-4", "country": "\u0412R", "age_band": "12-17", "education": "phd"},
    ]
    write_jsonl(landing / "contributors" / "people.jsonl", [dict(p, verified="True") for p in people])
    home = root / "home"
    result = materialize_validation(landing, home)
    return home, result


def test_enumerated_vote_fields_are_normalised_or_quarantined_with_the_field(spelled_run):
    home, result = spelled_run
    checked = {
        r[0]: r[1:]
        for r in query(
            home,
            "SELECT vote_id, reason, reason_detail, winner, in_flow_side, language, error_left, identities_hidden "
            "FROM votes_checked WHERE source_kind = 'votes'",
        )
    }
    assert checked["winner-upper"][:3] == (None, None, "left")
    assert checked["winner-fullwidth"][:3] == (None, None, "both_good")
    assert checked["side-zero-width"][:4] == (None, None, "left", "right")
    assert checked["language-name"][4] == checked["language-tag"][4] == "pt"
    assert checked["language-unknown"][0] is None and checked["language-unknown"][4] is None
    assert checked["flag-word"][0] is None and checked["flag-word"][5:] == (False, True)
    assert {k: v[:2] for k, v in checked.items() if v[0]} == {
        "side-bad": ("invalid_field", "in_flow_side"),
        "language-bad": ("invalid_field", "language"),
        "flag-bad": ("invalid_field", "error_right"),
        "prompt-bad": ("invalid_field", "prompt_hash"),
        "two-bad": ("invalid_field", "distribution,language"),
    }
    shown = materialization_metadata(result, "vote_quarantine")["invalid_values"]
    assert "Elvish" in shown and "center" in shown


def test_arena_language_names_become_iso_codes(spelled_run):
    home, _ = spelled_run
    rows = query(
        home,
        "SELECT language, reason, reason_detail FROM votes_checked WHERE source_kind = 'arena' ORDER BY source_row",
    )
    assert rows == [
        ("en", None, None),
        (None, None, None),
        ("zh", None, None),
        (None, "invalid_field", "language"),
    ]


def test_contributor_fields_are_normalised_or_the_record_is_invalid(spelled_run):
    home, _ = spelled_run
    profiles = query(
        home, "SELECT user_id, country, age_band, education, profession FROM contributor_profiles ORDER BY 1"
    )
    assert profiles == [
        ("u-0", "BR", "25-34", "master", "nurse"),
        ("u-1", "DE", "65+", "doctorate", "nurse"),
        ("u-2", "FR", "18-24", None, "nurse"),
    ]
    invalid = dict(
        query(home, "SELECT user_id, reason_detail FROM contributors_checked WHERE reason = 'invalid_field'")
    )
    assert invalid == {"u-3": "country", "u-4": "country,age_band,education"}


# ---------------------------------------------------------------- timestamps (issue-11 review, V1)

# vote_id: the fields changed on a valid vote cast 2026-03-10T12:00Z, shown 20 s earlier, exported later
BAD_TIMESTAMPS = {
    # a bare date: its trailing '-10' used to pass for an offset, and DuckDB read it as UTC midnight
    "voted-date-only": ({"voted_at": "2026-03-10"}, "invalid_timestamp", "2026-03-10"),
    "voted-date-and-z": ({"voted_at": "2026-03-10Z"}, "invalid_timestamp", "2026-03-10Z"),
    # offsets no clock has: they moved the instant by up to four days
    "voted-offset-99h": (
        {"voted_at": "2026-03-10T12:00:00+99"},
        "invalid_timestamp",
        "2026-03-10T12:00:00+99",
    ),
    "voted-offset-9959": (
        {"voted_at": "2026-03-10T12:00:00-9959"},
        "invalid_timestamp",
        "2026-03-10T12:00:00-9959",
    ),
    "voted-offset-1401": (
        {"voted_at": "2026-03-10T12:00:00+14:01"},
        "invalid_timestamp",
        "2026-03-10T12:00:00+14:01",
    ),
    "voted-offset-60-minutes": (
        {"voted_at": "2026-03-10T12:00:00+05:60"},
        "invalid_timestamp",
        "2026-03-10T12:00:00+05:60",
    ),
    "shown-date-only": ({"shown_at": "2026-03-10"}, "invalid_field", "shown_at"),
    "exported-offset-99h": ({"exported_at": "2026-03-11T12:00:00+99"}, "invalid_field", "exported_at"),
    # the answer shown one second after the vote: a negative time-to-vote
    "shown-after-the-vote": ({"shown_at": "2026-03-10T12:00:01Z"}, "invalid_field", "shown_at"),
}
# vote_id: (voted_at as delivered, the instant in UTC)
GOOD_TIMESTAMPS = {
    "offset-plus-14": ("2026-03-10T12:00:00+14:00", "2026-03-09 22:00:00"),
    "offset-minus-12": ("2026-03-10T12:00:00-12:00", "2026-03-11 00:00:00"),
    "offset-compact-0530": ("2026-03-10T12:00:00+0530", "2026-03-10 06:30:00"),
    "offset-hours-only": ("2026-03-10T12:00:00+02", "2026-03-10 10:00:00"),
    "space-lower-case-t-z": ("2026-03-10t12:00:00.250z", "2026-03-10 12:00:00.25"),
    "no-seconds": ("2026-03-10T12:00Z", "2026-03-10 12:00:00"),
}


@pytest.fixture(scope="module")
def timestamp_run(tmp_path_factory):
    """Votes whose timestamps lack a time, carry impossible offsets, or put the answer after the vote."""
    from showdown_pipeline_tests.landing_builder import vote, write_jsonl

    base = {
        "voted_at": "2026-03-10T12:00:00Z",
        "shown_at": "2026-03-09T12:00:00Z",
        "exported_at": "2026-03-12T00:00:00Z",
    }
    votes = [
        vote(k, **{**base, **fields, "vote_id": name})
        for k, (name, (fields, *_)) in enumerate(BAD_TIMESTAMPS.items())
    ]
    votes += [
        vote(100 + k, **{**base, "voted_at": raw, "vote_id": name})
        for k, (name, (raw, _)) in enumerate(GOOD_TIMESTAMPS.items())
    ]
    votes.append(vote(200, **base, vote_id="shown-at-the-vote") | {"shown_at": base["voted_at"]})
    root = tmp_path_factory.mktemp("timestamps")
    write_jsonl(root / "landing" / "votes" / "votes.jsonl", votes)
    home = root / "home"
    materialize_validation(root / "landing", home)
    return home


def test_timestamps_need_a_time_of_day_and_a_real_offset(timestamp_run):
    """A bare date or an offset beyond ±14:00 (or with 60+ minutes) is unreadable: invalid_timestamp for
    voted_at, invalid_field for shown_at/exported_at. Fails on the old offset regex, which a bare date and
    '+99' satisfied (the vote moved to midnight, or four days back)."""
    got = {
        r[0]: r[1:]
        for r in query(
            timestamp_run, "SELECT vote_id, reason, reason_detail, voted_at::VARCHAR FROM votes_checked"
        )
    }
    for name, (_, reason, detail) in BAD_TIMESTAMPS.items():
        assert got[name][:2] == (reason, detail), (name, got[name])
    for name, (_, instant) in GOOD_TIMESTAMPS.items():
        assert got[name] == (None, None, instant + "+00"), name
    assert got["shown-at-the-vote"][:2] == (None, None)  # a zero time-to-vote is possible


def test_a_negative_time_to_vote_never_makes_an_honest_voter_look_scripted(tmp_path):
    """Validation now quarantines a shown_at after the vote; the integrity statistics must not trip on one
    anyway (a warehouse built before, another engine). A voter whose answers' clock runs 1-400 s ahead of
    the vote's has negative, irregular times-to-vote: before, their mean was negative, so the coefficient
    of variation was too ('varies by -223%') and inhuman_regularity flagged them. Such votes are untimed."""
    from datetime import UTC, datetime, timedelta

    import numpy as np
    import pyarrow as pa

    from showdown_pipeline.core import integrity
    from showdown_pipeline.core.warehouse import duckdb_session

    rng = np.random.default_rng(5)
    voted = [datetime(2026, 3, 1, 10, tzinfo=UTC) + timedelta(minutes=7 * k) for k in range(30)]
    votes = pa.table(
        {
            "user_id": ["u-skewed-clock"] * len(voted),
            "winner": ["left", "right", "both_good"] * 10,
            "voted_at": voted,
            "shown_at": [v + timedelta(seconds=float(rng.uniform(1, 400))) for v in voted],
            "prompt_hash": [f"{k:016x}" for k in range(len(voted))],
            "tokens_left": [300] * len(voted),
            "tokens_right": [250] * len(voted),
        }
    )
    t = integrity.IntegrityThresholds()
    with duckdb_session(tmp_path / "w.duckdb") as session:
        session.replace_table("votes_clean", votes)
        stats = session.query(
            "integrity/user_vote_stats",
            {
                "cutoff": "2026-06-01",
                "min_seconds": t.min_seconds,
                "max_tokens_per_second": t.max_tokens_per_second,
            },
        ).to_pandas()
    assert stats.loc[0, "votes"] == 30 and stats.loc[0, "timed"] == 0
    assert integrity.inhuman_regularity(stats, t).empty
    assert integrity.too_fast(stats, t).empty


# ---------------------------------------------------------------- JSON types and control characters (R1, H3)

PROMPT_NUMBER = 0x7A3B5C6D8E9F0A1B  # a 64-bit prompt hash that an upstream stores as an integer
# vote_id: (fields of a JSON Lines vote, expected reason, expected reason_detail); None: valid
TYPED_VOTES = {
    "prompt-as-json-number": ({"prompt_hash": PROMPT_NUMBER}, "invalid_field", "prompt_hash"),
    "prompt-as-json-float": ({"prompt_hash": 1.5e300}, "invalid_field", "prompt_hash"),
    "distribution-as-number": ({"distribution": 7}, "invalid_field", "distribution"),
    "category-as-array": ({"category": ["general"]}, "invalid_field", "category"),
    "model-as-number": ({"model_right": 12}, "invalid_field", "model_right"),
    "ip-hash-as-number": ({"ip_hash": 1234567}, "invalid_field", "ip_hash"),
    "user-as-float": ({"user_id": 1.5}, "invalid_field", "user_id"),
    "user-as-object": ({"user_id": {"id": 7}}, "invalid_field", "user_id"),
    "language-as-boolean": ({"language": True}, "invalid_field", "language"),
    "integer-ids": ({"user_id": 31, "battle_id": 9_007_199_254_740_993, "session_id": -4}, None, None),
}
CONTROL_IDS = {  # an identifier holding a control character is invalid, never cleaned
    "ctl-user": {"user_id": "u-1\u0000"},
    "ctl-battle": {"battle_id": "b\u0007-1"},
    "ctl-session": {"session_id": "s-1\u009f"},
    "ctl-model": {"model_left": "m-a\u0000b"},
    "ctl-device": {"device_hash": "dev\n1"},
    "ctl-vote\u001b": {},
}


@pytest.fixture(scope="module")
def typed_run(tmp_path_factory):
    """Votes whose string fields arrive as JSON numbers, floats, arrays, objects or booleans, a typed
    Parquet file (int64 prompt_hash and user_id), identifiers holding control characters, and a
    profession holding a NUL."""
    from showdown_pipeline_tests.landing_builder import vote, write_jsonl, write_parquet

    root = tmp_path_factory.mktemp("typed")
    landing = root / "landing"
    votes = [vote(k, **fields, vote_id=name) for k, (name, (fields, *_)) in enumerate(TYPED_VOTES.items())]
    votes[-1].pop("vote_id")
    votes[-1]["vote_id"] = 123456  # an integer vote id is its decimal text
    votes += [vote(100 + k, **fields, vote_id=name) for k, (name, fields) in enumerate(CONTROL_IDS.items())]
    write_jsonl(landing / "votes" / "votes.jsonl", votes)
    typed = vote(200, vote_id="parquet-int-prompt", prompt_hash=PROMPT_NUMBER, user_id=77)
    write_parquet(landing / "votes" / "typed.parquet", [typed])
    people = [
        {"user_id": "u-0", "country": "BR", "age_band": "25-34", "profession": "nurse\u0000"},
        {"user_id": "u-1", "country": "BR", "age_band": "25-34", "profession": "data\tscientist\u0007"},
    ]
    write_jsonl(landing / "contributors" / "people.jsonl", [dict(p, verified=True) for p in people])
    home = root / "home"
    materialize_validation(landing, home)
    return home


def test_a_string_field_delivered_as_another_json_type_is_invalid(typed_run):
    """A prompt hash delivered as a JSON number (or a typed Parquet integer) used to become its decimal
    digits: 19 digits match the key pattern, so it was a valid key of its own, never equal to the same
    hash in hex (issue-11 review, H3). Every field the contract spells as a string is now checked for
    its JSON type at ingest: anything but a string is invalid_field, except integer ids."""
    got = {
        r[0]: r[1:]
        for r in query(
            typed_run,
            "SELECT coalesce(vote_id, '?'), reason, reason_detail, user_id, battle_id, json_types FROM votes_checked",
        )
    }
    for name, (_, reason, detail) in TYPED_VOTES.items():
        if name != "integer-ids":
            assert got[name][:2] == (reason, detail), (name, got[name])
    assert got["123456"][:4] == (None, None, "31", "9007199254740993")
    assert got["prompt-as-json-number"][4] == "prompt_hash:UBIGINT"
    parquet = got["parquet-int-prompt"]
    assert parquet[:3] == ("invalid_field", "prompt_hash", "77")  # the integer user id is fine
    assert parquet[4] == "user_id:UBIGINT,prompt_hash:UBIGINT"


def test_identifiers_with_control_characters_are_invalid_and_professions_are_cleaned(typed_run):
    """NUL and other control characters (Unicode Cc) in a vote's identifiers are invalid_field naming the
    field: an id is never cleaned (two upstream ids must not become one), and a NUL in a model id made the
    explorer's heatmap show another model's number (R1). A profession is free text: they are dropped."""
    from showdown_pipeline.core import normalise

    got = dict(
        query(typed_run, "SELECT vote_id, reason_detail FROM votes_checked WHERE reason = 'invalid_field'")
    )
    for name, fields in CONTROL_IDS.items():
        field = next(iter(fields), "vote_id")
        assert got[name] == field, name
        assert field in normalise.IDENTIFIER_FIELDS
    professions = query(typed_run, "SELECT user_id, profession FROM contributor_profiles ORDER BY 1")
    assert professions == [("u-0", "nurse"), ("u-1", "data scientist")]


# ---------------------------------------------------------------- model ids that print as another's (issue 16)

HIDDEN_MODEL_IDS = {  # each prints as m-a (or reorders what follows it) in a board, report or export
    "zero-width": "m-a\u200b",
    "right-to-left-override": "m-\u202ea",
    "no-break-space": "m\u00a0a",
    "ideographic-space": "m\u3000a",
    "word-joiner": "m\u2060-a",
    "tag-character": "m-a\U000e0041",
    "variation-selector": "m-a\ufe0f",
    # a run of ASCII spaces (HTML collapses it) prints as another id too (attack 17)
    "doubled-space": "m  a",
    "line-separator": "m-a\u2028",
    "hangul-filler": "m-a\u3164",
    "private-use": "m-a\ue000",  # Co: a box or nothing, by font
    "noncharacter": "m-a\ufdd0",
}


def test_a_model_id_holding_an_invisible_character_or_odd_space_is_refused(tmp_path):
    """A model id holding a zero-width, bidi, tag or variation character, or a space other than ASCII's, read
    as another model's name on every board ("m-a\\u200b" prints "m-a"). In the registry the row is the problem
    hidden_character_in_model_id, so its votes are unregistered_model; with no registry (LMArena's logs) a
    vote naming it is invalid_field for that side. Never cleaned: two upstream ids must not become one. "m a" (ASCII space) stays."""
    from showdown_pipeline_tests.landing_builder import vote, write_jsonl, write_models

    with_registry, without = tmp_path / "registry" / "landing", tmp_path / "arena" / "landing"
    registered = list(HIDDEN_MODEL_IDS.values())
    ids = ["m-a", "m-b", "m a", *registered]
    write_models(with_registry / "models.csv", [(m, m, "p", "2025-01-01", None) for m in ids])
    for landing in (with_registry, without):
        votes = [
            vote(0, model_left="m-a", model_right="m-b", vote_id="fine"),
            vote(1, model_left="m a", vote_id="space"),
            # ASCII spaces at the ends are trimmed, as models.csv cells are at ingest: these count as m-a
            vote(2, model_left="m-a ", model_right="m-b", vote_id="trailing-space"),
            vote(3, model_left=" m-a", model_right="m-b", vote_id="leading-space"),
        ]
        votes += [
            vote(10 + k, model_left=m, model_right="m-b", vote_id=name)
            for k, (name, m) in enumerate(HIDDEN_MODEL_IDS.items())
        ]
        votes += [
            vote(30, model_left="m-b", model_right=HIDDEN_MODEL_IDS["zero-width"], vote_id="right-side")
        ]
        write_jsonl(landing / "votes" / "v.jsonl", votes)
    for landing in (with_registry, without):
        materialize_validation(landing, landing.parent / "home")
    registry = dict(query(with_registry.parent / "home", "SELECT model_id, problem FROM model_registry"))
    assert {m: registry[m] for m in ("m-a", "m-b", "m a")} == {"m-a": None, "m-b": None, "m a": None}
    assert {registry[m] for m in registered} == {"hidden_character_in_model_id"}
    assert len(registry) == 3 + len(registered)
    sql = "SELECT vote_id, reason, reason_detail FROM votes_checked"
    on_registry = {v: (r, d) for v, r, d in query(with_registry.parent / "home", sql)}
    on_arena = {v: (r, d) for v, r, d in query(without.parent / "home", sql)}
    for got in (on_registry, on_arena):
        assert {got[v] for v in ("fine", "space", "trailing-space", "leading-space")} == {(None, None)}
    assert {name: on_registry[name] for name in HIDDEN_MODEL_IDS} == {
        name: ("unregistered_model", m) for name, m in HIDDEN_MODEL_IDS.items()
    }
    assert {on_arena[name] for name in HIDDEN_MODEL_IDS} == {("invalid_field", "model_left")}
    assert on_arena["right-side"] == ("invalid_field", "model_right")


def test_the_model_id_rule_matches_unicode_categories_and_spares_printable_ids():
    """MODEL_ID_HIDDEN_PATTERN (RE2, run by DuckDB) against Unicode's own categories (attack 17): every
    private-use character (Co), every noncharacter (U+FDD0-FDEF and U+xFFFE/xFFFF of each plane), format
    character (Cf), control (Cc) and non-ASCII space is refused in a model id; a letter, digit or
    punctuation of any script (categories L, N, P, S) is not, nor an inner ASCII space."""
    import sys
    import unicodedata

    import duckdb

    from showdown_pipeline.core import normalise

    refused, printable = [], []
    for c in range(0, sys.maxunicode + 1, 7):  # a stride keeps it quick; every category is hit
        ch = chr(c)
        category = unicodedata.category(ch)
        noncharacter = 0xFDD0 <= c <= 0xFDEF or (c & 0xFFFE) == 0xFFFE
        if category in ("Co", "Cf", "Cc") or noncharacter or (ch.isspace() and ch != " "):
            refused.append(f"m{ch}a")
        elif category[0] in "LNPS" and not ch.isspace() and ch not in normalise.EXTRA_INVISIBLE:
            printable.append(f"m{ch}a")
    printable += ["m a", "gpt-4.5-preview", "claude-3-opus@20240229"]
    refused += ["m-a ", " m-a", "m  a", "m-a\U000fffff", "m-a\U0010fffe"]
    got = duckdb.execute(
        "SELECT list_transform(?, lambda x: regexp_matches(x, ?)), list_transform(?, lambda x: regexp_matches(x, ?))",
        [refused, normalise.MODEL_ID_HIDDEN_PATTERN, printable, normalise.MODEL_ID_HIDDEN_PATTERN],
    ).fetchone()
    assert [m for m, hit in zip(refused, got[0], strict=True) if not hit] == []
    assert [m for m, hit in zip(printable, got[1], strict=True) if hit] == []
    assert len(refused) > 15_000 and len(printable) > 15_000


def test_the_suite_skips_gx_s_batch_fingerprint_and_puts_its_threshold_back(messy_run, monkeypatch):
    """GX hashes every row of a frame under 1 GB into a batch marker, twice, before checking anything (40% of
    the suite's time at 1M votes); nothing reads it, so the suite runs without it: a spy on GX's hash sees
    it called when the skip is off and never when it is on, the outcomes are those of a run that hashes, and
    GX's threshold is back afterwards."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    from showdown_pipeline.core import expectations

    _, home, _ = messy_run
    frame = _suite_frame(home)
    frame.loc[0, "winner"] = "Left"  # one failure, so the outcomes carry a count and a sample
    saved = engine.HASH_THRESHOLD
    with monkeypatch.context() as patched:
        hashed = []
        patched.setattr(engine, "hash_pandas_dataframe", lambda df: hashed.append(len(df)) or "x")
        with patched.context() as forced:  # what GX does on its own: hash, then check
            forced.setattr(expectations, "_no_batch_fingerprint", contextlib.nullcontext)
            with_hash = expectations.validate_votes(frame)
        assert hashed and set(hashed) == {len(frame)}  # the spy sees GX's hashes (two) when not skipped
        calls = len(hashed)
        without_hash = expectations.validate_votes(frame)
        assert len(hashed) == calls
    assert saved == engine.HASH_THRESHOLD
    assert without_hash == with_hash
    assert not without_hash[0]
    assert [(o.column, o.unexpected_count) for o in without_hash[1] if not o.success] == [("winner", 1)]


def test_the_suite_leaves_no_copy_of_its_frame_behind(messy_run):
    """GX's context, batch and result hold one another in reference cycles, and through them the suite's copy
    of the frame (the one with the derived columns); only Python's cyclic collector frees them, and it ran
    too rarely: each 1M-vote slice left ~440 MB behind (the 30M-vote build's peak, 11.3 GB, was reached in
    the suite). With automatic collection off, so the test does not depend on when it would run, nothing
    holding that copy is left once the suite returns."""
    from showdown_pipeline.core import expectations

    _, home, _ = messy_run
    frame = _suite_frame(home)
    gc.collect()
    gc.disable()
    try:
        passed, _ = expectations.validate_votes(frame)
        left = [o for o in gc.get_objects() if isinstance(o, pd.DataFrame) and "models_differ" in o.columns]
    finally:
        gc.enable()
    assert passed
    assert left == []


def test_the_suite_reads_every_unchecked_vote_once_in_slices(messy_run, tmp_path, monkeypatch):
    """The suite's votes are one statement's result, streamed in slices of SLICE_ROWS
    (core/expectations.validate_unchecked_votes; a filter per slice re-read the whole table for each slice,
    which grew with the square of the votes): every unchecked vote reaches the suite exactly once, a bad row
    fails the check whichever slice holds it and leaves every vote unchecked, and once the row is mended
    the suite passes and forgets them."""
    import shutil

    from showdown_pipeline.core import expectations
    from showdown_pipeline.core.warehouse import duckdb_session

    _, home, _ = messy_run
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(home / "warehouse.duckdb", warehouse)
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("INSERT INTO votes_clean_unchecked SELECT row_key FROM votes_clean")
        (total,) = conn.execute("SELECT count(*) FROM votes_clean").fetchone()
        (bad,) = conn.execute("SELECT vote_id FROM votes_clean ORDER BY row_key DESC LIMIT 1").fetchone()
        conn.execute("UPDATE votes_clean SET winner = 'tie' WHERE vote_id = $v", {"v": bad})
    assert total > 20
    seen: list[list[str]] = []
    suite = expectations.validate_votes

    def recording(frame):
        seen.append(frame["vote_id"].tolist())
        return suite(frame)

    monkeypatch.setattr(expectations, "SLICE_ROWS", 7)
    monkeypatch.setattr(expectations, "validate_votes", recording)
    with duckdb_session(warehouse) as session:
        passed, outcomes, rows = expectations.validate_unchecked_votes(session)
        assert not passed and rows == total
        assert [(o.column, o.unexpected_count) for o in outcomes if not o.success] == [("winner", 1)]
        assert [len(s) for s in seen] == [7] * (total // 7) + ([total % 7] if total % 7 else [])
        every = [v for s in seen for v in s]
        assert len(every) == len(set(every)) == total
    with duckdb.connect(str(warehouse)) as conn:
        assert conn.execute("SELECT count(*) FROM votes_clean_unchecked").fetchone() == (total,)
        conn.execute("UPDATE votes_clean SET winner = 'left' WHERE vote_id = $v", {"v": bad})
    seen.clear()
    with duckdb_session(warehouse) as session:
        assert expectations.validate_unchecked_votes(session)[0::2] == (True, total)
        assert sum(len(s) for s in seen) == total
        again = expectations.validate_unchecked_votes(session)
    assert again[0] and again[2] == 0 and [len(s) for s in seen[-1:]] == [0]
    with duckdb.connect(str(warehouse)) as conn:
        assert conn.execute("SELECT count(*) FROM votes_clean_unchecked").fetchone() == (0,)
