"""Hostile review of the issue-11 fixes (holdout, privacy, report). Each test here reproduces a finding and
FAILS on the code as reviewed (the control assertions before the last one pass, so the failure is the
finding, not the world); the docstring says what is observed and what the README/issue promise.

H1  a live vote in the window protects its prompt only if it is valid and not a duplicate (quarantined for
    identities/error/NaN count/unregistered model/Cyrillic `lіve`/separators in its hash, or a second vote
    on a battle): the old copy is licensed, holdout_window_respected passes (same votes_clean source).
H2  live votes at or after the export's cut (past as-of, or earlier today with the default as-of) do not
    protect their prompts although they are in the warehouse and inside today's window.
H3  a prompt hash delivered as a Parquet/JSON integer becomes its decimal digits, a "valid" key of its own.
P1  the set of languages under one pseudonym singles contributors out (row-level k holds).
P2  one licensee's exports at two as-of dates share every contributor_key (exact join, no collusion).
P3  the user_flags preview shows sha256(user_id)[:10], unsalted.
L1  a refused export stays on disk inside exports/<licensee>/.staging/.
S1  weak secrets accepted (shifted keyboard walk, the published test secret, base64 of a word, ...).
V1  voted_at without a real UTC offset (bare date, +99 hours) is read, not invalid_timestamp.
R1  explorer heatmap cells collide on NUL in model id + segment value (wrong number shown).
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from showdown_pipeline.core import holdout
from showdown_pipeline.definitions import LICENSING_ASSETS
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.conftest import TEST_SECRET as SECRET  # noqa: E402
from showdown_pipeline_tests.conftest import materialize_pipeline
from showdown_pipeline_tests.landing_builder import (
    random_valid_votes,
    vote,
    write_jsonl,
    write_models,
    write_parquet,
)

PAST = "2026-11-01"  # an as-of in the past: window (2026-09-02, 2026-11-01)
LATER = "2026-11-15"
YOUNG = datetime(2026, 10, 10, 12, 0, tzinfo=UTC)  # inside PAST's window
OLD = "2026-03-10T12:00:00Z"
TODAY = datetime.now(UTC).date()
BOT = "upstream-user-7731"
PIPELINE_RESULTS: list = []  # the world's pipeline run, for its Dagster metadata


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def _prompt(tag: str) -> str:
    return tag.encode().hex().rjust(16, "0")


# A young live vote that never reaches votes_clean, for reasons that say nothing about its prompt, its
# time or its distribution (except the last one, a look-alike of "live" that validation quarantines).
QUARANTINED_LIVE = {
    "identities-visible": {"identities_hidden": False},
    "response-error": {"error_left": True},
    "unreadable-count": {"tokens_left": "NaN"},
    "unregistered-model": {"model_left": "m-unregistered"},
    "cyrillic-live": {"distribution": "l\u0456ve"},
    # the live vote's prompt hash spelled with separators (a UUID-like or colon-hex rendering): the
    # canonical key does not fold them, so the vote is quarantined and the hex copy is licensed
    "prompt-with-dashes": {"prompt_hash": "ABCD-EF01-2345-6789-ABCD-EF01-2345-6789"},
    "prompt-with-colons": {"prompt_hash": "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89"},
}
# the old copy's prompt, when it is not _prompt(case)
OLD_COPY_PROMPT = {
    "prompt-with-dashes": "abcdef0123456789abcdef0123456789",
    "prompt-with-colons": "abcdef0123456789abcdef0123456789",
}


def _h1_votes() -> list[dict]:
    out = []
    for k, (name, fields) in enumerate(QUARANTINED_LIVE.items()):
        young = vote(5000 + k, vote_id=f"young-{name}", battle_id=f"yb-{name}", user_id="u-3")
        young.update(
            voted_at=_iso(YOUNG + timedelta(minutes=k)), distribution="live", prompt_hash=_prompt(name)
        )
        young.update(fields)
        out.append(young)
    # a second vote of one user on one battle: valid, live, young, but `duplicate_user_battle`
    first = vote(5100, vote_id="first-dup", battle_id="bb-dup", user_id="u-4", distribution="offline")
    first.update(voted_at=_iso(YOUNG - timedelta(hours=1)), prompt_hash=_prompt("unrelated"))
    second = vote(5101, vote_id="young-duplicate-user-battle", battle_id="bb-dup", user_id="u-4")
    second.update(voted_at=_iso(YOUNG), distribution="live", prompt_hash=_prompt("duplicate-user-battle"))
    out += [first, second]
    for k, name in enumerate([*QUARANTINED_LIVE, "duplicate-user-battle"]):
        out.append(
            vote(
                5200 + k,
                vote_id=f"old-copy-{name}",
                battle_id=f"ob-{name}",
                user_id="u-5",
                voted_at=OLD,
                distribution="offline",
                prompt_hash=OLD_COPY_PROMPT.get(name, _prompt(name)),
            )
        )
    return out


def _h2_votes() -> list[dict]:
    """Live votes already in the warehouse, at or after an export's data cut, but inside today's window."""
    after_past = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # 12 days before 2026-12-02
    earlier_today = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC) + timedelta(seconds=1)
    out = []
    for k, (name, when) in enumerate((("after-past-cut", after_past), ("earlier-today", earlier_today))):
        live = vote(5300 + k, vote_id=f"live-{name}", battle_id=f"lb-{name}", user_id="u-6")
        live.update(
            voted_at=_iso(when),
            exported_at=_iso(when + timedelta(minutes=1)),
            distribution="live",
            prompt_hash=_prompt(name),
        )
        old = vote(5310 + k, vote_id=f"old-copy-{name}", battle_id=f"ob-{name}", user_id="u-5")
        old.update(voted_at=OLD, distribution="offline", prompt_hash=_prompt(name))
        out += [live, old]
    return out


NUMERIC_PROMPT = 0x7A3B5C6D8E9F0A1B  # a 64-bit prompt hash; upstream's Parquet stores it as an integer


def _numeric_prompt_votes() -> tuple[dict, dict]:
    """(young live vote for a Parquet file whose prompt_hash column is int64, old JSON copy in hex)."""
    young = vote(
        5400, vote_id="young-numeric-prompt", battle_id="nb-young", user_id="u-6", distribution="live"
    )
    young.update(voted_at=_iso(YOUNG), prompt_hash=NUMERIC_PROMPT)
    old = vote(5401, vote_id="old-copy-numeric-prompt", battle_id="nb-old", user_id="u-12", voted_at=OLD)
    old.update(distribution="offline", prompt_hash=f"{NUMERIC_PROMPT:016x}")
    return young, old


def _bilingual_votes() -> list[dict]:
    """10 contributors vote only in Portuguese, one (u-bi) in Portuguese and English; everybody else in
    English. Every (profile, language) class holds >= 10 contributors, but u-bi's set of languages is unique."""
    out = []
    for p in range(10):
        for j in range(3):
            out.append(vote(6000 + 10 * p + j, user_id=f"u-pt-{p}", language="pt"))
    for j in range(6):
        out.append(vote(6200 + j, user_id="u-bi", language="pt" if j % 2 else "en"))
    for v in out:
        v.update(
            voted_at=OLD,
            distribution="offline",
            vote_id=f"bi-{v['vote_id']}",
            battle_id=f"bi-{v['battle_id']}",
        )
        v["prompt_hash"] = _prompt(v["vote_id"])
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("attack11")
    landing = root / "landing"
    write_models(
        landing / "models.csv",
        [("m-a", "A", "p", None, None), ("m-b", "B", "p", None, None), ("m-c", "C", "p", None, None)],
    )
    background = random_valid_votes(0, 300, ["m-a", "m-b", "m-c"], seed=9, users=40)
    for i, v in enumerate(background):
        v.update(voted_at=f"2026-02-{1 + i % 28:02d}T10:00:00Z", exported_at="2026-05-01T00:00:00Z")
        v["distribution"] = "offline"
    numeric_young, numeric_old = _numeric_prompt_votes()
    special = _h1_votes() + _h2_votes() + _bilingual_votes() + [numeric_young, numeric_old]
    jitter = random.Random(11)
    for v in background + special:  # shown 20 s before the vote, delivered after it (builder: BASE_TIME)
        cast = datetime.fromisoformat(v["voted_at"].replace("Z", "+00:00"))
        v["shown_at"] = _iso(cast - timedelta(seconds=jitter.uniform(15, 180)))  # human, irregular
        if v["exported_at"] < v["voted_at"]:
            v["exported_at"] = "2026-11-30T00:00:00Z"
    special.remove(numeric_young)
    votes = background + special + _timestamp_votes() + _bot_votes()
    write_jsonl(landing / "votes" / "votes.jsonl", votes)
    write_parquet(landing / "votes" / "typed.parquet", [numeric_young])
    profile = {"country": "BR", "age_band": "25-34", "education": "master", "verified": True}
    users = [f"u-{k}" for k in range(60)] + [f"u-pt-{p}" for p in range(10)] + ["u-bi"]
    write_jsonl(landing / "contributors" / "people.jsonl", [{"user_id": u, **profile} for u in users])
    home = root / "home"
    result = materialize_pipeline(landing, home, as_of=TODAY.isoformat())
    assert result.success
    PIPELINE_RESULTS.append(result)
    return landing, home


def _export(world, licensee: str, as_of: str, monkeypatch) -> dg.ExecuteInProcessResult:
    landing, home = world
    if (home / "exports" / licensee / as_of).exists():
        return None
    monkeypatch.setenv(holdout.SECRET_ENV, SECRET)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("licensees", [licensee])
    result = dg.materialize(
        LICENSING_ASSETS,
        partition_key=licensee,
        resources=build_resources(landing, home),
        instance=instance,
        run_config={"ops": {"licensed_export_staged": {"config": {"as_of": as_of}}}},
        raise_on_error=False,
    )
    # the blocking re-check passed: whatever the assertions below find, the export was published
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert result.success and checks == {"holdout_window_respected": True}, checks
    return result


def _exported_vote_ids(home, licensee: str, as_of: str) -> set[str]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT vote_id FROM votes_checked WHERE vote_id IS NOT NULL"
            ).fetchall()
        ]
    key = holdout.licensee_key(SECRET.encode(), licensee, date.fromisoformat(as_of))
    by_key = {holdout.pseudonym(key, "vote:" + i): i for i in ids}
    table = pq.read_table(home / "exports" / licensee / as_of / "votes.parquet")
    return {by_key[k] for k in table.column("vote_key").to_pylist()}


def _in(home, table: str, vote_id: str) -> bool:
    """Is `vote_id` in `table` (votes_clean or votes_counted, constants of this module)?"""
    sql = {
        "votes_clean": "SELECT count(*) FROM votes_clean WHERE vote_id = $v",
        "votes_counted": "SELECT count(*) FROM votes_counted WHERE vote_id = $v",
    }[table]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql, {"v": vote_id}).fetchall()[0][0] > 0


# ------------------------------------------------------------------------------------------- holdout


@pytest.mark.parametrize("case", [*QUARANTINED_LIVE, "duplicate-user-battle"])
def test_old_copy_of_a_prompt_live_in_the_window_is_not_licensed_when_the_live_vote_is_not_counted(
    world, monkeypatch, case
):
    """FINDING H1. A vote cast in the live distribution inside the 60-day window is quarantined for a reason
    unrelated to its prompt (identities visible, a failed response, a NaN token count, an unregistered
    model, `lіve` with a Cyrillic і) or is a user's second vote on a battle. Its prompt WAS shown in the
    live distribution inside the window, yet an old offline copy of that prompt is licensed, and
    holdout_window_respected passes (both sides read the window's prompts from votes_clean).
    Expected: the leak guard holds out every prompt that any live-window vote carried (fail closed)."""
    _, home = world
    _export(world, "h-past", PAST, monkeypatch)
    assert not _in(home, "votes_clean", f"young-{case}")  # how the live vote escapes the window set
    assert _in(home, "votes_counted", f"old-copy-{case}")  # the copy is a counted vote
    exported = _exported_vote_ids(home, "h-past", PAST)
    assert f"young-{case}" not in exported
    assert f"old-copy-{case}" not in exported, (
        f"old copy of a prompt voted live on {YOUNG.date()} (inside {PAST}'s window) was licensed"
    )


def test_a_prompt_hash_delivered_as_a_parquet_integer_is_one_prompt_with_its_hex_spelling(world, monkeypatch):
    """FINDING H3. prompt_hash is a hex string (DESIGN §2.1). A Parquet file with a typed int64 prompt_hash
    column (a 64-bit hash stored as a number) is staged through to_json, so the value becomes its DECIMAL
    digits; 19 decimal digits match ^[0-9a-f]{16,128}$, so they are accepted as a canonical key, a
    different one from the same hash in hex. The young live vote's prompt does not hold back its old hex
    copy, which is licensed, and the re-check agrees. The same happens to a JSON number. Expected: a
    non-string prompt_hash is invalid_field (or converted to hex), never its decimal text."""
    _, home = world
    _export(world, "h-past", PAST, monkeypatch)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        stored = conn.execute(
            "SELECT prompt_hash FROM votes_clean WHERE vote_id = 'young-numeric-prompt'"
        ).fetchall()
    assert stored == [(str(NUMERIC_PROMPT),)]  # decimal digits taken as a hex key
    assert _in(home, "votes_counted", "old-copy-numeric-prompt")
    assert "old-copy-numeric-prompt" not in _exported_vote_ids(home, "h-past", PAST)


def test_old_copy_of_a_prompt_live_right_now_is_not_licensed_by_an_export_as_of_the_past(world, monkeypatch):
    """FINDING H2a. The leak guard only looks at live votes in (as-of − 60 d, as-of). An export issued today
    with a past as-of (2026-11-01) licenses an old copy of a prompt whose live vote (2026-11-20) is already
    in the warehouse and inside today's 60-day window. The rule's letter allows it; the reason the issue
    refuses a future as-of (moving the window away from live votes) applies equally to a past one."""
    _, home = world
    _export(world, "h-past", PAST, monkeypatch)
    assert _in(home, "votes_clean", "live-after-past-cut")
    assert _in(home, "votes_counted", "old-copy-after-past-cut")
    assert "old-copy-after-past-cut" not in _exported_vote_ids(home, "h-past", PAST)


def test_old_copy_of_a_prompt_voted_live_earlier_today_is_not_licensed_by_the_default_as_of(
    world, monkeypatch
):
    """FINDING H2b. The default as-of is today, whose cut is 00:00 UTC. A live vote cast at 00:00:01 today
    is in the warehouse, yet it does not protect its prompt: the old copy is licensed by
    `showdown export` with no --as-of at all."""
    _, home = world
    _export(world, "h-today", TODAY.isoformat(), monkeypatch)
    assert _in(home, "votes_clean", "live-earlier-today")
    assert _in(home, "votes_counted", "old-copy-earlier-today")
    assert "old-copy-earlier-today" not in _exported_vote_ids(home, "h-today", TODAY.isoformat())


# ------------------------------------------------------------------------------------------- privacy


def test_no_contributor_is_singled_out_by_the_set_of_languages_under_their_pseudonym(world, monkeypatch):
    """FINDING P1. k-anonymity is computed per (contributor, combination) row, with `language` a per-vote
    value. Rows of one contributor share a contributor_key, so the licensee sees each contributor's SET of
    languages. In this world every (country, age band, education, profession, language) combination is held
    by >= 10 contributors (the re-check passes), but the one bilingual contributor is the only key with
    {en, pt}: whoever knows a BR 25-34 master's-degree contributor who votes in English and Portuguese has
    their whole history. Expected (README: 'a licensee must not learn who a contributor is ... k = 10 over
    the combination of every quasi-identifier an export carries'): every pseudonym's profile, including
    the languages it votes in, is shared by >= 10 pseudonyms."""
    _, home = world
    _export(world, "h-past", PAST, monkeypatch)
    frame = pq.read_table(home / "exports" / "h-past" / PAST / "votes.parquet").to_pandas()
    rows = frame.fillna("<NULL>")
    assert (
        rows.groupby(["country", "age_band", "education", "profession", "language"])["contributor_key"]
        .nunique()
        .min()
        >= holdout.K_ANONYMITY
    )  # the row-level promise holds
    profile = rows.groupby("contributor_key").agg(
        demographics=("country", lambda s: "|".join(sorted(set(s)))),
        languages=("language", lambda s: ",".join(sorted(set(s)))),
    )
    holders = profile.groupby(["demographics", "languages"]).size()
    singled_out = holders[holders < holdout.K_ANONYMITY]
    assert singled_out.empty, f"pseudonym profiles held by < k contributors: {singled_out.to_dict()}"


def test_one_licensees_exports_at_two_as_of_dates_cannot_be_joined_on_contributor_key(world, monkeypatch):
    """FINDING P2. The README's threat model puts 'a longer history per person, and a profile as fine as the
    finer of two recodings: some people fall below k' (measured: 67 of 19,016) under TWO COLLUDING
    licensees of different as-of dates, aligned on vote columns. A single licensee receiving two exports
    (the normal monthly case) gets it for free: the per-licensee key ignores the as-of, so
    contributor_key (and vote_key) are identical across the two files and join exactly. Expected: either
    keys that differ per export, or the README stating the single-licensee case."""
    _, home = world
    _export(world, "h-past", PAST, monkeypatch)
    _export(world, "h-past", LATER, monkeypatch)
    first = set(
        pq.read_table(home / "exports" / "h-past" / PAST / "votes.parquet")["contributor_key"].to_pylist()
    )
    later = set(
        pq.read_table(home / "exports" / "h-past" / LATER / "votes.parquet")["contributor_key"].to_pylist()
    )
    shared = first & later
    assert not shared, (
        f"{len(shared)} of {len(first)} contributor keys identical across one licensee's exports"
    )


def test_dagster_metadata_does_not_carry_a_reversible_form_of_upstream_user_ids(world):
    """FINDING P3 (low). The user_flags preview in Dagster metadata ('the event log lives outside the
    warehouse: voters appear as a hash prefix, not their id') shows sha256(user_id)[:10], unsalted: anyone
    holding upstream ids (the upstream itself, any copy of the raw export) or able to enumerate them
    (ids like `u-123`) maps each preview row back to the flagged person. Expected: a keyed hash, or none."""
    import hashlib

    _, home = world
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        flagged = {r[0] for r in conn.execute("SELECT DISTINCT user_id FROM user_flags").fetchall()}
    assert BOT in flagged
    previews = [
        str(e.materialization.metadata["preview"].value)
        for e in PIPELINE_RESULTS[0].get_asset_materialization_events()
        if e.asset_key.path == ["user_flags"]
    ]
    reversible = hashlib.sha256(BOT.encode()).hexdigest()[:10]
    assert not any(reversible in p for p in previews), (
        f"sha256({BOT!r})[:10] = {reversible} is in the preview"
    )


def test_an_export_that_fails_the_recheck_leaves_no_votes_file_in_the_licensees_folder(world, monkeypatch):
    """FINDING L1. When holdout_window_respected fails, nothing is renamed into place, but the staged
    export is never removed (`licensing.discard_staging` is defined and called nowhere): the full
    votes.parquet that broke the rules stays at exports/<licensee>/.staging/<as-of>-<run>/, inside the
    licensee's own folder. Whoever ships or syncs exports/<licensee>/ ships the forbidden rows too.
    Reproduced with the hook the project's own tamper tests use, slipping in a live vote cast after the cut."""
    import pyarrow as pa

    from showdown_pipeline.defs.licensing import assets as licensing_assets

    landing, home = world
    licensee, key = "h-tamper", holdout.licensee_key(SECRET.encode(), "h-tamper", date.fromisoformat(PAST))

    def slip_in(staging):
        path = staging / "votes.parquet"
        table = pq.read_table(path)
        row = {name: [None] for name in table.column_names}
        row.update(vote_key=[holdout.pseudonym(key, "vote:live-after-past-cut")], contributor_key=["x"])
        pq.write_table(pa.concat_tables([table, pa.Table.from_pydict(row, schema=table.schema)]), path)

    monkeypatch.setattr(licensing_assets, "stage_hook", slip_in)
    monkeypatch.setenv(holdout.SECRET_ENV, SECRET)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("licensees", [licensee])
    result = dg.materialize(
        LICENSING_ASSETS,
        partition_key=licensee,
        resources=build_resources(landing, home),
        instance=instance,
        run_config={"ops": {"licensed_export_staged": {"config": {"as_of": PAST}}}},
        raise_on_error=False,
    )
    assert not result.success and not (home / "exports" / licensee / PAST).exists()
    left = sorted(str(p.relative_to(home)) for p in (home / "exports" / licensee).rglob("votes.parquet"))
    assert not left, f"a refused export is still on disk: {left}"


# ------------------------------------------------------------------------------------------- secret


@pytest.mark.parametrize(
    "secret",
    [
        "!QAZ@WSX#EDC$RFV%TGB^YHN&UJM*IK<",  # 1qaz2wsx… with shift held: a keyboard walk
        "Zq3v9LrT1xW8pB2nK7mD4sF6hJ0cY5gA",  # the test secret, published in this repository
        "cGFzc3dvcmRwYXNzd29yZHBhc3N3b3Jk",  # base64('password' * 3)
        "2026-12-02T12:42:48.123456+00:00Z",  # a timestamp
        "6ba7b810-9dad-11d1-80b4-00c04fd430c8",  # a time-based (v1) UUID: clock + node, not random
    ],
)
def test_weak_or_published_secrets_are_refused(secret):
    """FINDING S1. The README claims the estimate catches keyboard runs ('qwerty…, 1qaz2wsx…'); the same walk
    typed with shift held passes (100 bits), and so do the repository's own published test secret, a
    base64-encoded repeated dictionary word, a timestamp and a v1 UUID."""
    assert holdout.secret_weakness(secret) is not None, f"{secret!r} accepted"


# ------------------------------------------------------------------------------------------- validation


BAD_TIMESTAMPS = {
    "date-only": "2026-10-10",  # a date, no time, no offset: the trailing '-10' passes the offset regex
    "offset-99h": "2026-10-10T12:00:00+99",  # offset of 99 hours: moves the vote 4 days back
    "offset-minus-9959": "2026-10-10T12:00:00-9959",
}


def _bot_votes() -> list[dict]:
    """A bot: 30 votes, each cast 0.2 s after both answers finished (flagged `too fast`)."""
    out = []
    for j in range(30):
        at = datetime(2026, 2, 10, 9, 0, tzinfo=UTC) + timedelta(minutes=j)
        out.append(
            vote(
                8000 + j,
                vote_id=f"bot-{j}",
                user_id=BOT,
                voted_at=_iso(at),
                shown_at=_iso(at - timedelta(milliseconds=200)),
                exported_at="2026-05-01T00:00:00Z",
                distribution="offline",
            )
        )
    return out


def _timestamp_votes() -> list[dict]:
    return [
        vote(
            7000 + k,
            vote_id=f"ts-{name}",
            voted_at=raw,
            exported_at="2026-11-01T00:00:00Z",
            distribution="offline",
        )
        for k, (name, raw) in enumerate(BAD_TIMESTAMPS.items())
    ]


@pytest.mark.parametrize("name", sorted(BAD_TIMESTAMPS))
def test_a_voted_at_without_a_real_utc_offset_is_an_invalid_timestamp(world, name):
    """FINDING V1. README: invalid_timestamp covers values 'without a UTC offset'. The offset check is the
    regex ([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$, which a bare date satisfies ('-10' is its day), and DuckDB then
    reads the date as UTC midnight; offsets outside ±23:59 (RFC 3339) are accepted and shift the instant by
    up to ~4 days (a live vote 58 days old becomes 62 days old, and licensable)."""
    _, home = world
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute(
            "SELECT reason, voted_at FROM votes_checked WHERE vote_id = $v", {"v": f"ts-{name}"}
        ).fetchall()
    assert rows[0][0] == "invalid_timestamp", f"{BAD_TIMESTAMPS[name]!r} read as {rows[0][1]}"


def test_manifest_of_the_attack_world_is_json(world, monkeypatch):
    """Control (passes): the exports above were published and carry a manifest (no finding)."""
    _, home = world
    _export(world, "h-past", PAST, monkeypatch)
    manifest = json.loads((home / "exports" / "h-past" / PAST / "manifest.json").read_text())
    assert manifest["rows"] > 300


# ------------------------------------------------------------------------------------------- report


def _segment_row(dim: str, value: str, model: str, diff: float) -> dict:
    return {
        "board": "raw",
        "segment_dim": dim,
        "segment_value": value,
        "model_id": model,
        "rating": 1000.0 + diff,
        "ci_lower": 990.0 + diff,
        "ci_upper": 1010.0 + diff,
        "rank": 1,
        "votes": 100,
        "users": 20,
        "provisional": False,
        "provisional_reason": "",
        "component": 1,
        "component_anchor": None,
        "rating_unshrunk": 1000.0 + diff,
        "diff_vs_overall": diff,
        "differs_from_overall": diff != 0,
    }


def test_explorer_heatmap_shows_each_models_own_value_whatever_characters_ids_hold(tmp_path):
    """FINDING R1 (low). The explorer keys heatmap cells by model_id + '\\u0000' + segment_value. A NUL is
    a character validation keeps in model ids (no registry: every id counts) and in free-text professions
    (clean_text removes category Cf, not the C0 control NUL), so model 'a\\0b' in profession 'c' and model
    'a' in profession 'b\\0c' share a key: rendered in Chromium, the cell of 'a\\0b' in 'c' shows a's
    -30.0 (red, '*') instead of its own +30.0. No script runs; the page shows a wrong number."""
    import pandas as pd

    from showdown_pipeline.core import report
    from showdown_pipeline_tests.test_report_browser import render

    rows = [
        {**_segment_row("overall", None, m, 0.0), "segment_dim": "overall"} for m in ("a\u0000b", "a")
    ] + [
        _segment_row("profession", "c", "a\u0000b", +30.0),
        _segment_row("profession", "b\u0000c", "a", -30.0),
        _segment_row("profession", "c", "a", 0.0),
    ]
    manifest = {"snapshot_id": "s", "data_cut": {"as_of": "2026-12-01"}, "parameters": {}, "input": {}}
    page = tmp_path / "index.html"
    page.write_text(report.render_report(pd.DataFrame(rows), manifest), encoding="utf-8")
    rendered = render(page.as_uri() + "#segment=profession:c", tmp_path)
    heatmap = rendered.dom[rendered.dom.index('id="segment-heatmap"') :].split("</table>")[0]
    titles = re.findall(r'title="([^"]*)"', heatmap)
    assert not [t for t in titles if t.endswith(" in c: -30.0 vs overall")], titles
