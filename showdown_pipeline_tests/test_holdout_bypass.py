"""The holdout cannot be bypassed by spelling (issue 11): "live" and a prompt's identity are decided once,
at validation, so the export's writer and its independent re-check cannot disagree.

Each case fails on the old code, where `distribution` was only trimmed and prompt hashes were compared
as delivered: a young live vote labelled "Live", "live\u200b" or "ＬＩＶＥ" was licensed, and so was an
old copy of a live prompt whose hash differed by hex case; the re-check shared the writer's blind spot.
"""

from __future__ import annotations

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
    write_jsonl(landing / "votes" / "votes.jsonl", background + _special_votes())
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
    return holdout.pseudonym(holdout.licensee_key(SECRET.encode(), licensee), "vote:" + vote_id)


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
    assert len(exported) == 300  # the background, and nothing else
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


FORBIDDEN = {
    **{f"young-{name}": "live_vote_younger_than_holdout" for name in LIVE_SPELLINGS},
    **{f"old-copy-{name}": "prompt_in_live_window" for name in LIVE_SPELLINGS},
    **{f"old-prompt-{name}": "prompt_in_live_window" for name in PROMPT_SPELLINGS},
    "young-cyrillic": "not_a_counted_vote",
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
