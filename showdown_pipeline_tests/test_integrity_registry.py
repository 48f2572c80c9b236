"""The integrity asset runs whatever the registry holds (core/integrity/registry.py `CHECKS`).

A toy check registered here, in the test only, runs in the real asset and its flags reach `user_flags`,
`vote_exclusions`, `votes_counted` and the summary with no other code touched. A check that breaks the
flag contract stops the run with its name; a failure while writing leaves every integrity table as it was;
an empty cut writes typed tables. Each materializes only `integrity_checks`, on a copy of a warehouse that
ingest and validation prepared once.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta

import dagster as dg
import duckdb
import pandas as pd
import pytest

from showdown_pipeline.core import run_cut
from showdown_pipeline.core.integrity import registry
from showdown_pipeline.core.integrity.registry import IntegrityCheck
from showdown_pipeline.core.integrity.thresholds import IntegrityThresholds, flag_frame
from showdown_pipeline.defs.integrity.assets import integrity_checks
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.conftest import materialization_metadata, materialize_validation
from showdown_pipeline_tests.landing_builder import random_valid_votes, vote, write_jsonl, write_models

MODELS = ["m-a", "m-b", "m-c", "m-d"]
TIE_VOTER = "u-tie"  # twelve votes, every one a tie: no product check flags that
LEFT_VOTER = "u-left"  # forty votes, every one for the left answer: position_bias flags that
AS_OF = "2026-06-01"


def always_tie(stats: pd.DataFrame, t: IntegrityThresholds) -> pd.DataFrame:
    """The toy check: voters with at least ten votes and not one of them decided."""
    hit = stats[(stats["votes"] >= 10) & (stats["decided"] == 0)]
    return flag_frame(
        [
            {
                "user_id": u,
                "check_name": "always_tie",
                "score": float(n),
                "p_value": None,
                "excluded": True,
                "reason": f"{int(n)} votes, none decided",
            }
            for u, n in zip(hit["user_id"], hit["votes"], strict=True)
        ]
    )


TOY = IntegrityCheck("always_tie", "Voters who never pick a side.", (), ("stats",), always_tie)


@pytest.fixture(scope="module")
def validated_warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    landing = root / "landing"
    write_models(landing / "models.csv", [(m, m.upper(), "p", None, None) for m in MODELS])
    votes = random_valid_votes(0, 2000, MODELS, seed=11, users=100)
    votes += [vote(5000 + k, user_id=TIE_VOTER, winner="both_bad", model_right="m-c") for k in range(12)]
    votes += [
        vote(6000 + k, user_id=LEFT_VOTER, model_left=MODELS[k % 4], model_right=MODELS[(k + 1) % 4])
        for k in range(40)
    ]
    for k, v in enumerate(votes):  # people take 15-40 s to vote, not the builder's constant 20 s
        voted = datetime.fromisoformat(v["voted_at"])
        v["shown_at"] = (voted - timedelta(seconds=15 + (k * 7919) % 26)).isoformat()
    write_jsonl(landing / "votes" / "votes.jsonl", votes)
    materialize_validation(landing, root / "home")
    return root / "home" / "warehouse.duckdb"


def _home(validated_warehouse, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(validated_warehouse, home / "warehouse.duckdb")
    return home


def _integrity(home, as_of: str = AS_OF) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [integrity_checks],
        resources=build_resources(home.parent / "no-landing", home),
        instance=dg.DagsterInstance.ephemeral(),
        tags={run_cut.TAG_AS_OF: as_of},
        raise_on_error=False,
    )


def _tables(home) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        tables = {
            t: conn.sql(f"SELECT * FROM {t}").to_arrow_table().to_pandas()  # noqa: S608 - fixed names
            for t in ("user_flags", "vote_exclusions", "votes_counted", "vote_reviews")
        }
        tables["summary"] = json.loads(conn.sql("SELECT summary FROM integrity_summary").fetchall()[0][0])
        tables["types"] = dict(
            conn.sql(
                "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
                "WHERE table_name IN ('user_flags', 'vote_exclusions', 'vote_reviews')"
            ).fetchall()
        )
    return tables


def _tie_row_keys(home) -> set[str]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.sql(f"SELECT row_key FROM votes_clean WHERE user_id = '{TIE_VOTER}'").fetchall()  # noqa: S608
    return {r[0] for r in rows}


def test_a_check_registered_in_checks_runs_and_its_flags_reach_user_flags(
    validated_warehouse, tmp_path, monkeypatch
):
    """Without the toy nobody flags the tie voter; with it registered (one line, in this test) the real
    asset flags them, excludes their twelve votes with its reason, and reports it in summary and metadata."""
    home = _home(validated_warehouse, tmp_path)
    assert _integrity(home).success
    before = _tables(home)
    assert list(before["user_flags"]["user_id"]) == [LEFT_VOTER]  # position_bias, and nobody else
    assert "always_tie" not in {c["name"] for c in before["summary"]["checks"]}

    monkeypatch.setattr(registry, "CHECKS", [*registry.CHECKS, TOY])
    result = _integrity(home)
    assert result.success
    after = _tables(home)
    flags = after["user_flags"]
    toy_flags = flags[flags["check_name"] == "always_tie"]
    assert (
        list(toy_flags["user_id"]) == [TIE_VOTER] and toy_flags["reason"].iloc[0] == "12 votes, none decided"
    )
    tie_votes = _tie_row_keys(home)
    assert len(tie_votes) == 12
    excluded = after["vote_exclusions"].set_index("row_key")
    assert set(excluded.index[excluded["check_name"] == "always_tie"]) == tie_votes
    assert not tie_votes & set(after["votes_counted"]["row_key"])
    summary = after["summary"]
    assert (
        summary["users_flagged_by_check"]["always_tie"] == 1
        and summary["removed_by_check"]["always_tie"] == 12
    )
    assert summary["votes_counted"] == before["summary"]["votes_counted"] - 12
    assert {"name": "always_tie", "catches": TOY.catches, "ran": True} in summary["checks"]
    assert materialization_metadata(result, "user_flags")["users_flagged_by_check"]["always_tie"] == 1
    # everything else is as it was without the toy
    others = flags[flags["check_name"] != "always_tie"].reset_index(drop=True)
    pd.testing.assert_frame_equal(others, before["user_flags"])


def test_a_check_breaking_the_flag_contract_stops_the_run_with_its_name(
    validated_warehouse, tmp_path, monkeypatch
):
    """A careless new check (rows under another check's name) fails the step with a message naming it;
    nothing is written: the tables of the previous run stay."""

    def mislabelled(stats: pd.DataFrame, t: IntegrityThresholds) -> pd.DataFrame:
        return always_tie(stats, t).assign(check_name="too_fast")

    home = _home(validated_warehouse, tmp_path)
    assert _integrity(home).success
    before = _tables(home)
    bad = IntegrityCheck("mislabelled", "Nothing: it names its rows wrongly.", (), ("stats",), mislabelled)
    monkeypatch.setattr(registry, "CHECKS", [*registry.CHECKS, bad])
    result = _integrity(home)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "mislabelled" in str(failure) and "too_fast" in str(failure)
    after = _tables(home)
    for table in ("user_flags", "vote_exclusions", "votes_counted"):
        pd.testing.assert_frame_equal(after[table], before[table])


def test_a_failure_while_writing_leaves_every_integrity_table_as_it_was(
    validated_warehouse, tmp_path, monkeypatch
):
    """The integrity tables are written together or not at all. A run that would flag the tie voter (the
    toy registered) fails on the last write, because `integrity_summary` has become a view the summary's
    table cannot replace: user_flags, vote_exclusions, votes_counted and vote_reviews stay the previous
    run's (written one by one, they would hold the toy's flag and exclusions)."""
    home = _home(validated_warehouse, tmp_path)
    assert _integrity(home).success
    before = _tables(home)
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        conn.execute("DROP TABLE integrity_summary")
        conn.execute("CREATE VIEW integrity_summary AS SELECT '{}'::JSON AS summary")
    monkeypatch.setattr(registry, "CHECKS", [*registry.CHECKS, TOY])
    result = _integrity(home)
    assert not result.success
    assert "integrity_summary" in str(result.get_step_failure_events()[0].step_failure_data.error)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        for table in ("user_flags", "vote_exclusions", "votes_counted", "vote_reviews"):
            now = conn.sql(f"SELECT * FROM {table}").to_arrow_table().to_pandas()  # noqa: S608
            pd.testing.assert_frame_equal(now, before[table])


def test_integrity_tables_are_typed_when_no_vote_is_before_the_cut(validated_warehouse, tmp_path):
    """An empty cut used to write columns of DuckDB's NULL type (pandas left the empty frames untyped); the
    tables keep their types whatever the run found."""
    home = _home(validated_warehouse, tmp_path)
    assert _integrity(home, as_of="2026-03-01").success
    tables = _tables(home)
    assert tables["user_flags"].empty and tables["vote_exclusions"].empty and tables["vote_reviews"].empty
    assert tables["types"] == {
        "user_flags.user_id": "VARCHAR",
        "user_flags.check_name": "VARCHAR",
        "user_flags.score": "DOUBLE",
        "user_flags.p_value": "DOUBLE",
        "user_flags.reason": "VARCHAR",
        "user_flags.excluded": "BOOLEAN",
        "vote_exclusions.row_key": "VARCHAR",
        "vote_exclusions.check_name": "VARCHAR",
        "vote_exclusions.reason": "VARCHAR",
        "vote_reviews.row_key": "VARCHAR",
        "vote_reviews.user_id": "VARCHAR",
        "vote_reviews.winner_expected": "DOUBLE",
        "vote_reviews.reason": "VARCHAR",
    }
    ran = {c["name"]: c["ran"] for c in tables["summary"]["checks"]}
    assert (
        ran["too_fast"] and not ran["favouritism"]
    )  # no preliminary ratings: the checks that need them skip


def test_the_integrity_step_runs_on_an_eighth_of_ram_and_writes_what_a_quarter_writes(
    validated_warehouse, tmp_path, monkeypatch
):
    """Integrity's statements fill whatever memory limit they get (at 10M votes a quarter of RAM let the step
    peak at 9.9 GB): its session asks for settings.INTEGRITY_MEMORY_SHARE; its tables are the same as on a
    session with the default share (the limit changes how much spills, never a row)."""
    from showdown_pipeline import settings
    from showdown_pipeline.defs import resources

    monkeypatch.delenv("SHOWDOWN_DUCKDB_MEMORY_LIMIT", raising=False)
    limits = []
    opened = resources.duckdb_session

    def spied(database, config=None, read_only=False, memory_limit=None):
        limits.append(memory_limit or config["memory_limit"])  # the limit the session runs under
        return opened(database, config, read_only, memory_limit)

    monkeypatch.setattr(resources, "duckdb_session", spied)
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    eighth, quarter = _home(validated_warehouse, tmp_path / "a"), _home(validated_warehouse, tmp_path / "b")
    assert _integrity(eighth).success
    assert set(limits) == {settings.default_memory_limit(settings.INTEGRITY_MEMORY_SHARE)}
    monkeypatch.setattr(settings, "INTEGRITY_MEMORY_SHARE", settings.DEFAULT_MEMORY_SHARE)
    limits.clear()
    assert _integrity(quarter).success
    assert set(limits) == {settings.default_memory_limit()}
    assert settings.default_memory_limit(0.125) != settings.default_memory_limit()
    a, b = _tables(eighth), _tables(quarter)
    for table in ("user_flags", "vote_exclusions", "vote_reviews"):
        pd.testing.assert_frame_equal(a[table], b[table])
    pd.testing.assert_frame_equal(  # votes_counted has no order of its own
        *(t["votes_counted"].sort_values("row_key", ignore_index=True) for t in (a, b))
    )
    assert {k: v for k, v in a["summary"].items() if k != "run"} == {
        k: v for k, v in b["summary"].items() if k != "run"
    }
