"""The holdout cannot be bypassed by spelling (issue 11): "live" and a prompt's identity are decided once,
at validation, so the export's writer and its independent re-check cannot disagree.

Each case fails on the old code, where `distribution` was only trimmed and prompt hashes were compared
as delivered: a young live vote labelled "Live", "live\u200b" or "ＬＩＶＥ" was licensed, and so was an
old copy of a live prompt whose hash differed by hex case; the re-check shared the writer's blind spot.

The hostile review of those fixes (H1-H3) found the guard itself read the window's prompts from counted
votes only: `GUARDED` holds a young record that might be live for every way it could escape (quarantined
for any reason, a duplicate, undated, after the export's cut, a prompt spelled with separators or
delivered as a JSON or Parquet integer); each must still protect its prompt's old copy.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from showdown_pipeline.core import holdout
from showdown_pipeline.definitions import LICENSING_ASSETS
from showdown_pipeline.defs.licensing import assets as licensing_assets
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.conftest import TEST_SECRET, materialize_pipeline
from showdown_pipeline_tests.landing_builder import (
    random_valid_votes,
    retime,
    vote,
    write_jsonl,
    write_models,
    write_parquet,
)

SECRET = TEST_SECRET
AS_OF = "2026-06-01"  # data cut 2026-06-01T00:00Z; live votes after 2026-04-02T00:00Z are held out
YOUNG = "2026-05-10T12:00:00Z"  # inside the 60-day window
OLD = "2026-01-10T12:00:00Z"  # long before it

# Spellings of "live" an upstream may send: each young vote is live, and so holds back its prompt.
LIVE_SPELLINGS = {
    "capitalised": "Live",
    "padded": " live ",
    "zero-width-space": "live\u200b",
    "no-break-space": "\u00a0live",
    "fullwidth": "ＬＩＶＥ",
}
CYRILLIC = "l\u0456ve"  # Cyrillic і: not "live", and not a stream of its own either
PROMPT = "0123456789abcdef"


def _prompt(k: int) -> str:
    return f"{0xABC0000000000000 + k:016x}"


# young live vote's prompt as delivered -> an old offline copy of the same prompt, spelled otherwise
PROMPT_SPELLINGS = {
    "hex-case": ("ABCDEF0123456789ABCDEF0123456789", "abcdef0123456789abcdef0123456789"),
    "zero-width": ("fedcba9876543210\u200b", "fedcba9876543210"),
    "0x-prefix": ("0x1111222233334444", "1111222233334444"),
}


# Issue-11 review, H1/H2/H3: a young record that might be live protects its prompt whatever else is wrong
# with it (quarantined for any reason, a duplicate, undated), and so does a live vote after the export's cut.
# name: (fields of the young record, where its prompt is delivered); its old copy is "old-guarded-<name>"
GUARDED = {
    "identities-visible": {"identities_hidden": False},
    "response-error": {"error_left": True},
    "unreadable-count": {"tokens_left": "NaN"},
    "unregistered-model": {"model_left": "m-unregistered"},
    "control-character-in-id": {"user_id": "u-1\u0000"},
    "cyrillic-live": {"distribution": CYRILLIC},
    "distribution-as-number": {"distribution": 1},
    "voted-at-a-bare-date": {"voted_at": "2026-05-10"},  # invalid_timestamp: it might be in the window
    "voted-at-missing": {"voted_at": None},
    "prompt-with-dashes": {"prompt_hash": "ABCD-EF01-2345-6789-ABCD-EF01-2345-6789"},
    "prompt-with-colons": {"prompt_hash": "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:8a"},
    "prompt-as-json-number": {"prompt_hash": 0x7A3B5C6D8E9F0A1B},
    "prompt-as-negative-json-number": {"prompt_hash": -0x0123456789ABCDEF},
    "after-the-export-cut": {"voted_at": "2026-06-15T12:00:00Z"},  # in the warehouse, after AS_OF
    "after-the-run-cut": {"voted_at": "2026-07-20T12:00:00Z"},  # ingested, after the pipeline's cut too
    # cast at 00:00:01 today: after the cut of `showdown export` with its default as-of (today) too
    "earlier-today": {"voted_at": f"{datetime.now(UTC).date().isoformat()}T00:00:01Z"},
}
GUARDED_PATH = {  # the young record's quarantine reason (None: valid — a duplicate, or after the cut)
    "identities-visible": "identities_visible",
    "response-error": "response_error",
    "unreadable-count": "invalid_field",
    "unregistered-model": "unregistered_model",
    "control-character-in-id": "invalid_field",
    "cyrillic-live": "invalid_field",
    "distribution-as-number": "invalid_field",
    "voted-at-a-bare-date": "invalid_timestamp",
    "voted-at-missing": "missing_required_field",
    "prompt-with-dashes": "invalid_field",
    "prompt-with-colons": "invalid_field",
    "prompt-as-json-number": "invalid_field",
    "prompt-as-negative-json-number": "invalid_field",
    "parquet-int64": "invalid_field",
}
GUARDED_COPY = {  # the old copy's prompt where it is not the young record's own prompt
    "prompt-with-dashes": "abcdef0123456789abcdef0123456789",
    "prompt-with-colons": "abcdef0123456789abcdef012345678a",
    "prompt-as-json-number": "7a3b5c6d8e9f0a1b",
    "prompt-as-negative-json-number": f"{-0x0123456789ABCDEF % 2**64:016x}",
}
# Controls: records that cannot be live or young protect nothing, so their old copies are licensed.
UNGUARDED = {
    "quarantined-offline": {"distribution": "offline", "identities_hidden": False},
    "live-but-older-than-the-window": {"voted_at": "2026-03-01T12:00:00Z"},
}


EXPORTED = "2026-08-01T00:00:00Z"


def _guard_votes() -> tuple[list[dict], list[dict]]:
    """Young records (with the old copies of their prompts), a duplicate, the controls, and a Parquet
    file whose prompt_hash column is int64."""
    out, parquet = [], []
    for k, (name, fields) in enumerate({**GUARDED, **UNGUARDED}.items()):
        young = vote(
            1500 + k,
            vote_id=f"young-{name}",
            voted_at=YOUNG,
            distribution="live",
            prompt_hash=_prompt(200 + k),
        )
        young.update(fields)
        young.update(shown_at="2026-01-01T00:00:00Z", exported_at=max(EXPORTED, young["voted_at"] or ""))
        out.append(young)
        copy = GUARDED_COPY.get(name, _prompt(200 + k))
        out.append(
            vote(
                1600 + k,
                vote_id=f"old-guarded-{name}",
                voted_at=OLD,
                distribution="offline",
                prompt_hash=copy,
            )
        )
    # a user's second vote on a battle (duplicate_user_battle), live and young
    first = vote(
        1700, vote_id="first-vote", battle_id="b-dup", user_id="u-9", voted_at=OLD, distribution="offline"
    )
    second = vote(
        1701,
        vote_id="young-duplicate",
        battle_id="b-dup",
        user_id="u-9",
        voted_at=YOUNG,
        prompt_hash=_prompt(300),
    )
    copy = vote(
        1702, vote_id="old-guarded-duplicate", voted_at=OLD, distribution="offline", prompt_hash=_prompt(300)
    )
    # a 64-bit prompt hash in a typed Parquet column: int64 (its bits read as a signed integer)
    parquet.append(vote(1703, vote_id="young-parquet-int64", voted_at=YOUNG, prompt_hash=0x1F2E3D4C5B6A7988))
    parquet_copy = vote(
        1704,
        vote_id="old-guarded-parquet-int64",
        voted_at=OLD,
        distribution="offline",
        prompt_hash="1f2e3d4c5b6a7988",
    )
    out += [first, second, copy, parquet_copy]
    for v in [first, second, copy, parquet_copy, *parquet]:
        v["exported_at"] = EXPORTED
    return out, parquet


def _special_votes() -> list[dict]:
    out = []
    for k, (name, spelling) in enumerate(LIVE_SPELLINGS.items()):
        out.append(
            vote(
                1000 + k,
                vote_id=f"young-{name}",
                voted_at=YOUNG,
                distribution=spelling,
                prompt_hash=_prompt(k),
            )
        )
        out.append(
            vote(
                1100 + k,
                vote_id=f"old-copy-{name}",
                voted_at=OLD,
                distribution="offline",
                prompt_hash=_prompt(k),
            )
        )
    for k, (name, (young, old)) in enumerate(PROMPT_SPELLINGS.items()):
        out.append(
            vote(
                1200 + k,
                vote_id=f"young-prompt-{name}",
                voted_at=YOUNG,
                distribution="live",
                prompt_hash=young,
            )
        )
        out.append(
            vote(
                1300 + k, vote_id=f"old-prompt-{name}", voted_at=OLD, distribution="offline", prompt_hash=old
            )
        )
    out.append(
        vote(1400, vote_id="young-cyrillic", voted_at=YOUNG, distribution=CYRILLIC, prompt_hash=_prompt(99))
    )
    for v in out:
        v["exported_at"] = "2026-07-01T00:00:00Z"
    return out


@pytest.fixture(scope="module")
def bypass_home(tmp_path_factory):
    root = tmp_path_factory.mktemp("bypass")
    landing = root / "landing"
    write_models(
        landing / "models.csv",
        [("m-a", "A", "p", None, None), ("m-b", "B", "p", None, None), ("m-c", "C", "p", None, None)],
    )
    background = random_valid_votes(0, 300, ["m-a", "m-b", "m-c"], seed=9, users=40)
    for i, v in enumerate(background):  # old, offline, distinct prompts: all licensable
        retime(
            v,
            f"2026-01-{1 + i % 28:02d}T10:00:00Z",
            exported_at="2026-05-01T00:00:00Z",
            distribution="offline",
        )
    guards, typed = _guard_votes()
    write_jsonl(landing / "votes" / "votes.jsonl", background + _special_votes() + guards)
    write_parquet(landing / "votes" / "typed.parquet", typed)
    write_jsonl(
        landing / "contributors" / "people.jsonl",
        [
            {
                "user_id": f"u-{k}",
                "country": "BR",
                "age_band": "25-34",
                "education": "master",
                "verified": True,
            }
            for k in range(60)
        ],
    )
    home = root / "home"
    assert materialize_pipeline(landing, home, as_of="2026-07-01").success
    return landing, home


def _run_export(landing, home, licensee, monkeypatch):
    monkeypatch.setenv(holdout.SECRET_ENV, SECRET)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("licensees", [licensee])
    return dg.materialize(
        LICENSING_ASSETS,
        partition_key=licensee,
        resources=build_resources(landing, home),
        instance=instance,
        run_config={"ops": {"licensed_export_staged": {"config": {"as_of": AS_OF}}}},
        raise_on_error=False,
    )


def _vote_key(licensee: str, vote_id: str) -> str:
    key = holdout.licensee_key(SECRET.encode(), licensee, date.fromisoformat(AS_OF))
    return holdout.pseudonym(key, "vote:" + vote_id)


def _exported_ids(home, licensee: str) -> set[str]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT vote_id FROM votes_clean").fetchall()]
    by_key = {_vote_key(licensee, i): i for i in ids}
    table = pq.read_table(home / "exports" / licensee / AS_OF / "votes.parquet")
    return {by_key[k] for k in table.column("vote_key").to_pylist()}


def _warehouse(home, sql):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_every_spelling_of_live_is_held_out_with_old_copies_of_its_prompt(bypass_home, monkeypatch):
    landing, home = bypass_home
    result = _run_export(landing, home, "acme", monkeypatch)
    assert result.success
    exported = _exported_ids(home, "acme")
    for name in LIVE_SPELLINGS:
        assert f"young-{name}" not in exported, name
        assert f"old-copy-{name}" not in exported, name
    controls = {f"old-guarded-{name}" for name in UNGUARDED} | {"young-live-but-older-than-the-window"}
    assert exported == {f"v-{i}" for i in range(300)} | controls | {"first-vote"}
    # decided once, upstream: the warehouse holds one spelling of live
    assert _warehouse(home, "SELECT DISTINCT distribution FROM votes_clean ORDER BY 1") == [
        ("live",),
        ("offline",),
    ]


def test_prompt_copies_differing_by_hex_case_or_invisible_characters_are_held_out(bypass_home, monkeypatch):
    landing, home = bypass_home
    assert _run_export(landing, home, "beta", monkeypatch).success
    exported = _exported_ids(home, "beta")
    for name in PROMPT_SPELLINGS:
        assert f"old-prompt-{name}" not in exported, name
        assert f"young-prompt-{name}" not in exported, name
    keys = dict(
        _warehouse(home, "SELECT vote_id, prompt_hash FROM votes_clean WHERE vote_id LIKE '%prompt-%'")
    )
    for name, (_, old) in PROMPT_SPELLINGS.items():
        assert keys[f"young-prompt-{name}"] == keys[f"old-prompt-{name}"] == old


def test_a_cyrillic_look_alike_of_live_is_quarantined_not_licensed(bypass_home, monkeypatch):
    landing, home = bypass_home
    rows = _warehouse(
        home, "SELECT reason, reason_detail FROM vote_quarantine WHERE vote_id = 'young-cyrillic'"
    )
    assert rows == [("invalid_field", "distribution")]
    assert _warehouse(home, "SELECT count(*) FROM votes_clean WHERE vote_id = 'young-cyrillic'") == [(0,)]


@pytest.fixture(scope="module")
def guard_export(bypass_home):
    landing, home = bypass_home
    with pytest.MonkeyPatch.context() as mp:
        assert _run_export(landing, home, "guard", mp).success
    return home, _exported_ids(home, "guard")


@pytest.mark.parametrize("name", [*GUARDED, "duplicate", "parquet-int64"])
def test_a_record_that_might_be_live_and_young_protects_its_prompt_whatever_else_is_wrong_with_it(
    guard_export, name
):
    """Issue-11 review, H1/H2/H3. The leak guard used to read the window's prompts from votes_clean only:
    a young live vote quarantined for any reason (identities visible, a failed response, a NaN count, an
    unregistered model, a control character, a look-alike of `live`, a distribution or voted_at that does
    not read, a prompt hash spelled with separators or delivered as a JSON/Parquet integer), a user's
    second vote on a battle, or a live vote after the export's cut did not protect its prompt, and an old
    offline copy was licensed (the re-check agreed). Now every ingested record that might be live and
    might be young protects it: the copy is held out."""
    home, exported = guard_export
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        counted = {r[0] for r in conn.execute("SELECT vote_id FROM votes_counted").fetchall()}
        young = conn.execute(
            "SELECT reason FROM votes_checked WHERE vote_id = $v", {"v": f"young-{name}"}
        ).fetchall()
    assert young == [(GUARDED_PATH.get(name),)]  # how the young record escaped the old guard
    assert f"old-guarded-{name}" in counted  # the copy is a counted vote: only the guard keeps it out
    assert f"old-guarded-{name}" not in exported


def test_records_that_cannot_be_live_or_young_protect_nothing(guard_export):
    """The guard is not 'hold out everything': a quarantined offline record and a live vote older than
    the window leave their prompts' old copies licensable."""
    _, exported = guard_export
    assert {f"old-guarded-{name}" for name in UNGUARDED} <= exported


def test_the_guard_keys_follow_the_documented_folding():
    """core/holdout.protected_prompt_keys is the rule the SQL implements: separators and case folded, a
    0x prefix dropped, and a JSON integer's 64-bit hex spelling (unsigned or two's complement)."""
    keys = holdout.protected_prompt_keys
    assert keys("abcd-ef01-2345-6789-abcd-ef01-2345-6789") == {"abcdef0123456789abcdef0123456789"}
    assert keys("0xab:cd:ef:01:23:45:67:89") == {"abcdef0123456789"}
    assert keys(str(0x7A3B5C6D8E9F0A1B), delivered_as_integer=True) == {
        str(0x7A3B5C6D8E9F0A1B),
        "7a3b5c6d8e9f0a1b",
    }
    assert "fedcba9876543211" in keys(str(-0x0123456789ABCDEF), delivered_as_integer=True)
    assert keys(None) == set() and keys("--") == set()


FORBIDDEN = {
    **{f"young-{name}": "live_vote_younger_than_holdout" for name in LIVE_SPELLINGS},
    **{f"old-copy-{name}": "prompt_in_live_window" for name in LIVE_SPELLINGS},
    **{f"old-prompt-{name}": "prompt_in_live_window" for name in PROMPT_SPELLINGS},
    "young-cyrillic": "not_a_counted_vote",
    **{
        f"old-guarded-{name}": "prompt_in_live_window"
        for name in (
            "identities-visible",
            "cyrillic-live",
            "voted-at-missing",
            "prompt-with-dashes",
            "prompt-as-json-number",
            "after-the-export-cut",
            "duplicate",
            "parquet-int64",
        )
    },
}


@pytest.mark.parametrize("vote_id", sorted(FORBIDDEN))
def test_the_independent_recheck_catches_each_forbidden_row_slipped_into_an_export(
    bypass_home, monkeypatch, vote_id
):
    landing, home = bypass_home
    licensee = "tamper-" + str(sorted(FORBIDDEN).index(vote_id))

    def slip_in(staging):
        path = staging / "votes.parquet"
        table = pq.read_table(path)
        row = {name: [None] for name in table.column_names}
        row.update(vote_key=[_vote_key(licensee, vote_id)], contributor_key=["x"])
        pq.write_table(pa.concat_tables([table, pa.Table.from_pydict(row, schema=table.schema)]), path)

    monkeypatch.setattr(licensing_assets, "stage_hook", slip_in)
    result = _run_export(landing, home, licensee, monkeypatch)
    assert not result.success
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}["holdout_window_respected"]
    assert not check.passed
    rules = {v["rule"]: v for v in check.metadata["violations"].value}
    assert FORBIDDEN[vote_id] in rules
    assert _vote_key(licensee, vote_id) in rules[FORBIDDEN[vote_id]]["sample"]
    assert not (home / "exports" / licensee / AS_OF).exists()
