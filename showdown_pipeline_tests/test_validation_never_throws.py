"""Validation never throws on a value (issue 12): every cast is a try_cast with a quarantine reason.

(a) A landing zone whose numbers read NaN, inf, 1e30, 1e400, 2^63 … and whose timestamps lie in the
    year 294247 or at the epoch runs through the whole pipeline, more than once and after the file is
    gone: each bad row is quarantined with its reason and field, every run succeeds.
(b) Property-based: arbitrary text in every raw field of raw_votes, raw_contributors and raw_models;
    validation never raises, every record lands in exactly one of valid / quarantined, and the SQL's
    prompt key and enumerated fields equal what core/normalise.py decides for the same text.
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from showdown_pipeline.core import landing as landing_mod
from showdown_pipeline.core import normalise, registry, validation
from showdown_pipeline.core.sql import prepare_connection
from showdown_pipeline.core.vote_schema import (
    CONTRIBUTOR_FIELDS,
    MAX_COUNT,
    MODEL_FIELDS,
    MODEL_OPTIONAL_FIELDS,
    QUARANTINE_REASONS,
    VOTE_FIELDS,
)
from showdown_pipeline.core.warehouse import DuckDBSession
from showdown_pipeline_tests.conftest import materialize_pipeline
from showdown_pipeline_tests.landing_builder import random_valid_votes, vote, write_jsonl, write_models

# vote_id: (overrides, expected reason, expected reason_detail). json.dumps writes NaN / Infinity as
# bare literals, which DuckDB's JSON reader accepts: exactly what a careless upstream sends.
NUMERIC_CASES = {
    "nan": ({"tokens_left": float("nan")}, "invalid_field", "tokens_left"),
    "inf": ({"tokens_right": float("inf")}, "invalid_field", "tokens_right"),
    "minus-inf": ({"headers_left": float("-inf")}, "invalid_field", "headers_left"),
    "1e30": ({"headers_right": 1e30}, "invalid_field", "headers_right"),
    "2^63": ({"lists_left": 9223372036854775808}, "invalid_field", "lists_left"),
    "1e400-text": ({"lists_right": "1e400"}, "invalid_field", "lists_right"),
    "negative": ({"bold_left": -1}, "invalid_field", "bold_left"),
    "fraction": ({"bold_right": "12.5"}, "invalid_field", "bold_right"),
    "nan-text": ({"latency_ms_right": "NaN"}, "invalid_field", "latency_ms_right"),
    "underscore": ({"tokens_left": "1_000"}, "invalid_field", "tokens_left"),
    "hex": ({"tokens_left": "0x10"}, "invalid_field", "tokens_left"),
    "above-max": ({"tokens_left": MAX_COUNT + 1}, "invalid_field", "tokens_left"),
    "year-294247": ({"voted_at": "294247-01-10T04:00:54Z"}, "invalid_timestamp", "294247-01-10T04:00:54Z"),
    "epoch": ({"voted_at": "1970-01-01T00:00:00Z"}, "invalid_timestamp", "1970-01-01T00:00:00Z"),
    "shown-year-1": ({"shown_at": "0001-01-01T00:00:00Z"}, "invalid_field", "shown_at"),
    "exported-9999": ({"exported_at": "9999-12-31T23:59:59Z"}, "invalid_field", "exported_at"),
    "two-bad": (
        {"tokens_left": "inf", "latency_ms_left": "-1e400"},
        "invalid_field",
        "tokens_left,latency_ms_left",
    ),
}
# vote_id: (overrides, tokens_left as counted): decided valid
VALID_NUMBERS = {
    "spaces": ({"tokens_left": " 12 "}, 12),
    "empty": ({"tokens_left": ""}, None),
    "float-integral": ({"tokens_left": 12.0}, 12),
    "exponent": ({"tokens_left": "1.2e1"}, 12),
    "at-max": ({"tokens_left": MAX_COUNT}, MAX_COUNT),
    "zero": ({"tokens_left": "-0"}, 0),
}
# arena rows by tstamp: each is quarantined invalid_timestamp except the last, which counts
ARENA_TSTAMPS = ["1e300", "NaN", "inf", "-1e20", "0", "1772366400"]


def _numeric_landing(root):
    write_models(
        root / "models.csv",
        [
            ("m-a", "A", "p", "2020-01-01", None),
            ("m-b", "B", "p", "2020-01-01", None),
            ("m-c", "C", "p", None, None),
        ],
    )
    records = random_valid_votes(0, 90, ["m-a", "m-b", "m-c"], seed=3)
    cases = {**{k: v[0] for k, v in NUMERIC_CASES.items()}, **{k: v[0] for k, v in VALID_NUMBERS.items()}}
    for k, (vid, overrides) in enumerate(cases.items()):
        records.append(vote(500 + k, vote_id=vid, **overrides))
    lines = [json.dumps(r) for r in records]
    # a bare 1e400 literal (json.dumps cannot write one)
    lines.append(
        json.dumps(vote(600, vote_id="1e400-literal", latency_ms_left=7)).replace(
            '"latency_ms_left": 7', '"latency_ms_left": 1e400'
        )
    )
    write_jsonl(root / "votes" / "numbers.jsonl", lines)
    arena = [
        {
            "model_a": "m-a",
            "model_b": "m-b",
            "winner": "model_a",
            "tstamp": t,
            "judge": f"j{k}",
            "anony": True,
        }
        for k, t in enumerate(ARENA_TSTAMPS)
    ]
    (root / "arena").mkdir(parents=True)
    (root / "arena" / "log.jsonl").write_text(
        "".join(
            json.dumps(r).replace(f'"tstamp": "{t}"', f'"tstamp": {t}') + "\n"
            for r, t in zip(arena, ARENA_TSTAMPS, strict=True)
        )
    )
    people = [
        {"user_id": f"u-{k}", "country": "BR", "verified": True, "verified_at": "2026-01-01T00:00:00Z"}
        for k in range(7)
    ]
    people[0]["verified_at"] = "294247-01-10T04:00:54Z"
    people[1]["account_created_at"] = "NaN"
    write_jsonl(root / "contributors" / "people.jsonl", people)


def _query(home, sql):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_nan_inf_and_overflow_are_quarantined_and_never_block_a_run(tmp_path):
    """Fails on the old code: votes_checked stopped with a conversion error (and so did every later run)."""
    landing, home = tmp_path / "landing", tmp_path / "home"
    _numeric_landing(landing)
    for attempt in range(2):
        result = materialize_pipeline(landing, home)
        assert result.success, f"run {attempt + 1} failed"
    got = {
        r[0]: (r[1], r[2])
        for r in _query(
            home, "SELECT vote_id, reason, reason_detail FROM vote_quarantine WHERE source_kind = 'votes'"
        )
    }
    expected = {vid: (reason, detail) for vid, (_, reason, detail) in NUMERIC_CASES.items()}
    expected["1e400-literal"] = ("invalid_field", "latency_ms_left")
    assert got == expected
    counted = dict(
        _query(
            home,
            "SELECT vote_id, tokens_left FROM votes_clean WHERE vote_id IN ('spaces', 'empty', 'float-integral', 'exponent', 'at-max', 'zero')",
        )
    )
    assert counted == {vid: tokens for vid, (_, tokens) in VALID_NUMBERS.items()}
    arena = _query(
        home, "SELECT reason, count(*) FROM votes_checked WHERE source_kind = 'arena' GROUP BY ALL ORDER BY 1"
    )
    assert arena == [("invalid_timestamp", 5), (None, 1)]
    people = dict(
        _query(home, "SELECT user_id, reason_detail FROM contributors_checked WHERE reason IS NOT NULL")
    )
    assert people == {"u-0": "verified_at", "u-1": "account_created_at"}
    # The file that broke the old validator goes away; its raw rows stay, and runs still succeed.
    (landing / "votes" / "numbers.jsonl").unlink()
    assert materialize_pipeline(landing, home).success
    assert _query(home, "SELECT count(*) FROM vote_quarantine WHERE vote_id = 'nan'") == [(1,)]


# --- (b) property-based: arbitrary text in every raw field --------------------------------------

NASTY = [
    "NaN",
    "nan",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "1e30",
    "1e400",
    "-1e400",
    "9223372036854775808",
    "-9223372036854775809",
    "1e300",
    "",
    " ",
    " 12 ",
    "12.5",
    "0x10",
    "1_000",
    "١٢",
    "１２",
    "294247-01-10T04:00:54Z",
    "infinity",
    "-infinity",
    "epoch",
    "2026-03-01T12:00:00Z",
    "2026-03-01T12:00:00",
    "2026-02-30T00:00:00Z",
    "live",
    "Live",
    "l\u0456ve",
    "ＬＩＶＥ",
    "live\u200b",
    "'; DROP TABLE votes_clean; --",
    '"',
    "\\",
    "'",
    "<script>alert(1)</script>",
    "\u200b",
    "\x00",
    "[1, 2]",
    '["pt", "en"]',
    '{"a": 1}',
    "left",
    "RIGHT",
    "both_good",
    "tie",
    "true",
    "FALSE",
    "yes",
    "2",
    "English",
    "unknown",
    "pt-BR",
    "BR",
    "UK",
    "25–34",
    "65 +",
    "master",
    "0123456789ABCDEF",
    "0x0123456789abcdef",
    "０１２３４５６７８９ａｂｃｄｅｆ",
    "0123456789abcdef\u00a0",
    "ﬀ" * 16,
    "a" * 129,
    "\U0001f600",
    "\ufeff",
    "\u202e",
]
VALUE = st.one_of(
    st.none(),
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers().map(str),
    st.floats().map(repr),
)
MODEL = st.sampled_from(["m-a", "m-b", "m-zzz", None, " m-a ", "M-A"])


def _records(fields, overrides=None):
    return st.lists(
        st.fixed_dictionaries({f: (overrides or {}).get(f, VALUE) for f in fields}), min_size=1, max_size=4
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    conn = duckdb.connect(str(tmp_path_factory.mktemp("prop") / "warehouse.duckdb"))
    prepare_connection(conn)
    landing_mod.create_ingest_tables(DuckDBSession(conn))
    for k, kind in enumerate(("votes", "contributors", "models")):
        conn.execute(
            "INSERT INTO landing_files (sha256, path, kind, format, size_bytes, landed_at, ingest_seq, status, "
            "rows_in, blank_lines, error, ingested_at, run_id) "
            "VALUES ($sha, $path, $kind, 'jsonl', 1, now(), $seq, 'ingested', 1, 0, NULL, now(), 'r')",
            {"sha": f"{k:064x}", "path": f"{kind}/f", "kind": kind, "seq": k},
        )
    yield conn
    conn.close()


def _load(conn, table, key_fields, rows, sha, extra):
    conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    columns = {"source_sha256": [sha] * len(rows), "source_row": list(range(len(rows))), **extra}
    columns.update({f: [r[f] for r in rows] for f in key_fields})
    arrow = pa.table(
        {k: pa.array(v, type=pa.int64() if k == "source_row" else pa.string()) for k, v in columns.items()}
    )
    conn.register("_rows", arrow)
    conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")  # noqa: S608 - fixed table names
    conn.unregister("_rows")


def _validate(conn):
    """What the validate assets run, in their order."""
    session = DuckDBSession(conn)
    normalise.build_model_registry(session, registry.registry_state(session).in_force_sha256)
    normalise.build_contributors_checked(session)
    session.run("validate/contributor_profiles")
    validation.validate_votes(session, full=True)  # the raw rows change under fixed ledger keys here


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    votes=_records(VOTE_FIELDS, {"model_left": MODEL, "model_right": MODEL}),
    kinds=st.lists(st.sampled_from(["votes", "arena"]), min_size=4, max_size=4),
    people=_records(CONTRIBUTOR_FIELDS),
    models=_records((*MODEL_FIELDS, *MODEL_OPTIONAL_FIELDS), {"model_id": MODEL}),
)
def test_validation_never_raises_and_every_record_lands_once(warehouse, votes, kinds, people, models):
    conn = warehouse
    _load(
        conn,
        "raw_votes",
        VOTE_FIELDS,
        votes,
        f"{0:064x}",
        {
            "source_kind": kinds[: len(votes)],
            "parse_error": [None] * len(votes),
            "raw_line": [None] * len(votes),
        },
    )
    _load(
        conn,
        "raw_contributors",
        CONTRIBUTOR_FIELDS,
        people,
        f"{1:064x}",
        {"parse_error": [None] * len(people), "raw_line": [None] * len(people)},
    )
    _load(conn, "raw_models", (*MODEL_FIELDS, *MODEL_OPTIONAL_FIELDS), models, f"{2:064x}", {})
    _validate(conn)

    checked = conn.execute(
        "SELECT source_row, reason, prompt_hash, distribution, winner, language, in_flow_side FROM votes_checked ORDER BY source_row"
    ).fetchall()
    assert len(checked) == len(votes)
    quarantined = conn.execute("SELECT count(*) FROM vote_quarantine").fetchall()[0][0]
    valid = sum(r[1] is None for r in checked)
    assert valid + quarantined == len(votes)
    assert {r[1] for r in checked if r[1]} <= set(QUARANTINE_REASONS)
    clean, dups = conn.execute(
        "SELECT (SELECT count(*) FROM votes_clean), (SELECT count(*) FROM vote_duplicates)"
    ).fetchall()[0]
    assert clean + dups == valid
    for (row, reason, key, dist, win, lang, side), raw in zip(checked, votes, strict=True):
        # the SQL's canonical key is the Python one, for any text (ASCII fast path or not)
        assert key == normalise.prompt_key(raw["prompt_hash"]), (row, raw["prompt_hash"])
        if reason is None:
            assert dist == normalise.distribution(raw["distribution"])[0] and dist.isascii()
            assert win == normalise.winner(raw["winner"])[0]
            assert lang == normalise.language(raw["language"])[0]
            assert side == normalise.in_flow_side(raw["in_flow_side"])[0]
            assert key is None or len(key) >= 16

    contributors = conn.execute("SELECT reason FROM contributors_checked").fetchall()
    assert len(contributors) == len(people)
    assert {r[0] for r in contributors} <= {None, "missing_required_field", "invalid_field"}
    assert conn.execute("SELECT count(*) FROM model_registry").fetchall()[0][0] == len(models)
    registry = conn.execute(
        "SELECT m.pre_release, r.pre_release, r.problem FROM model_registry AS r "
        "JOIN raw_models AS m ON m.source_row = r.registry_order"
    ).fetchall()
    for (
        raw,
        pre_release,
        problem,
    ) in registry:  # the optional flag: decided by normalise.flag, or the row unusable
        value, bad = normalise.flag(raw)
        assert pre_release is (value == "true") and (problem is not None if bad else True)
