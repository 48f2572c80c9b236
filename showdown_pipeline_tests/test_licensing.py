"""The 60-day holdout and pseudonymised licensed exports: boundaries, time zones, leaks, tampering."""

from __future__ import annotations

import json
from datetime import date

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from showdown_pipeline.core import holdout, licensing
from showdown_pipeline.definitions import LICENSING_ASSETS
from showdown_pipeline.defs.licensing import assets as licensing_assets
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.conftest import materialize_pipeline
from showdown_pipeline_tests.landing_builder import random_valid_votes, vote, write_jsonl, write_models

SECRET = "test-secret-0123456789"
AS_OF = "2026-06-01"  # data cut 2026-06-01T00:00Z, holdout cutoff 2026-04-02T00:00Z

BOUNDARY_VOTES = {
    # vote_id: (voted_at, distribution, prompt_hash, exported?)
    "exactly-60d": ("2026-04-02T00:00:00Z", "live", "p-a", True),
    "60d-minus-1s": ("2026-04-02T00:00:01Z", "live", "p-b", False),
    "60d-plus-1s": ("2026-04-01T23:59:59Z", "live", "p-c", True),
    "tz-exactly-60d": ("2026-04-02T02:00:00+02:00", "live", "p-d", True),
    "tz-60d-minus-1s": ("2026-04-01T20:00:01-04:00", "live", "p-e", False),
    "offline-young": ("2026-05-01T00:00:00Z", "offline", "p-f", True),
    "old-copy-of-live-prompt": ("2026-01-05T00:00:00Z", "offline", "p-live", False),
    "live-prompt-in-window": ("2026-05-02T00:00:00Z", "live", "p-live", False),
    "at-the-cut": ("2026-06-01T00:00:00Z", "offline", "p-g", False),
    "prompt-only-after-cut": ("2026-02-01T00:00:00Z", "offline", "p-later", True),
    "live-after-cut": ("2026-06-02T00:00:00Z", "live", "p-later", False),
}


@pytest.fixture(scope="module")
def warehouse_home(tmp_path_factory):
    root = tmp_path_factory.mktemp("licensing")
    landing = root / "landing"
    write_models(
        landing / "models.csv",
        [("m-a", "A", "p", None, None), ("m-b", "B", "p", None, None), ("m-c", "C", "p", None, None)],
    )
    background = random_valid_votes(0, 300, ["m-a", "m-b", "m-c"], seed=9, users=40)
    for i, v in enumerate(background):  # old, distinct prompts: all licensable
        v.update(
            voted_at=f"2026-01-{1 + i % 28:02d}T10:00:00Z",
            exported_at="2026-05-01T00:00:00Z",
            distribution="offline",
        )
    special = [
        vote(
            1000 + k,
            vote_id=vid,
            voted_at=at,
            exported_at="2026-07-01T00:00:00Z",
            distribution=dist,
            prompt_hash=prompt,
        )
        for k, (vid, (at, dist, prompt, _)) in enumerate(BOUNDARY_VOTES.items())
    ]
    special.append(
        vote(
            2000,
            vote_id="quarantined",
            voted_at="2026-01-03T00:00:00Z",
            winner="draw",
            distribution="offline",
        )
    )
    write_jsonl(landing / "votes" / "votes.jsonl", background + special)
    people = [
        {
            "user_id": f"u-{k}",
            "country": "BR" if k < 30 else ("IS" if k < 33 else "DE"),
            "age_band": "25-34",
            "education": "master",
            "profession": "nurse" if k % 2 else "rare-job-" + str(k),
            "verified": True,
            "verified_at": "2026-01-01T00:00:00Z",
        }
        for k in range(40)
    ]
    write_jsonl(landing / "contributors" / "people.jsonl", people)
    home = root / "home"
    assert materialize_pipeline(landing, home, as_of="2026-07-01").success
    return landing, home


def run_export(
    landing, home, licensee: str, as_of: str = AS_OF, secret: str | None = SECRET, monkeypatch=None
):
    if monkeypatch is not None:
        if secret is None:
            monkeypatch.delenv(holdout.SECRET_ENV, raising=False)
        else:
            monkeypatch.setenv(holdout.SECRET_ENV, secret)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("licensees", [licensee])
    return dg.materialize(
        LICENSING_ASSETS,
        partition_key=licensee,
        resources=build_resources(landing, home),
        instance=instance,
        run_config={"ops": {"licensed_export_staged": {"config": {"as_of": as_of}}}},
        raise_on_error=False,
    )


def exported_ids(home, licensee: str, as_of: str = AS_OF) -> set[str]:
    """Map the export's vote keys back to vote ids with the key (independently of the SQL)."""
    key = holdout.licensee_key(SECRET.encode(), licensee)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT vote_id FROM votes_clean").fetchall()]
    by_key = {holdout.pseudonym(key, "vote:" + i): i for i in ids}
    table = pq.read_table(home / "exports" / licensee / as_of / "votes.parquet")
    return {by_key[k] for k in table.column("vote_key").to_pylist()}


def test_holdout_boundaries_time_zones_and_prompt_leaks(warehouse_home, monkeypatch):
    landing, home = warehouse_home
    result = run_export(landing, home, "acme", monkeypatch=monkeypatch)
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["holdout_window_respected"].passed
    ids = exported_ids(home, "acme")
    for vid, (*_, expected) in BOUNDARY_VOTES.items():
        assert (vid in ids) == expected, vid
    assert "quarantined" not in ids
    assert len(ids) == 300 + sum(e for *_, e in BOUNDARY_VOTES.values())
    manifest = json.loads((home / "exports" / "acme" / AS_OF / "manifest.json").read_text())
    assert (
        manifest["holdout_cutoff_utc"] == "2026-04-02T00:00:00Z"
        and manifest["policy_version"] == holdout.POLICY_VERSION
    )
    assert manifest["files"]["votes.parquet"]["sha256"] == licensing.sha256_of(
        home / "exports" / "acme" / AS_OF / "votes.parquet"
    )
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        audit = conn.execute("SELECT licensee, as_of::VARCHAR, rows FROM export_audit").fetchall()
    assert ("acme", AS_OF, manifest["rows"]) in audit


def test_no_raw_ids_pseudonyms_per_licensee_and_k_anonymity(warehouse_home, monkeypatch):
    landing, home = warehouse_home
    assert run_export(landing, home, "beta-labs", monkeypatch=monkeypatch).success
    table = pq.read_table(home / "exports" / "beta-labs" / AS_OF / "votes.parquet")
    assert not set(table.column_names) & set(holdout.FORBIDDEN_COLUMNS)
    text = json.dumps(table.to_pylist(), default=str)
    assert '"u-1"' not in text and "ip1" not in text and '"v-1"' not in text
    acme = pq.read_table(home / "exports" / "acme" / AS_OF / "votes.parquet")
    assert not set(acme.column("contributor_key").to_pylist()) & set(
        table.column("contributor_key").to_pylist()
    )
    # k = 10: Iceland (3 voters) and the one-person professions become 'other'; Brazil stays
    countries = set(table.column("country").to_pylist())
    assert "BR" in countries and "IS" not in countries and "other" in countries
    assert {p for p in table.column("profession").to_pylist() if p} <= {"nurse", "other"}


def test_export_as_of_the_past_sees_only_its_own_window(warehouse_home, monkeypatch):
    landing, home = warehouse_home
    assert run_export(landing, home, "acme", as_of="2026-05-01", monkeypatch=monkeypatch).success
    ids = exported_ids(home, "acme", "2026-05-01")
    # as of May 1 the cutoff is March 2: the April votes are too young or after the cut
    assert "exactly-60d" not in ids and "offline-young" not in ids and "prompt-only-after-cut" in ids
    # the live vote of May 2 is after this cut, so its prompt does not hold the January copy back
    assert "old-copy-of-live-prompt" in ids


def test_empty_export_is_published_with_zero_rows(warehouse_home, monkeypatch):
    landing, home = warehouse_home
    assert run_export(landing, home, "acme", as_of="2025-06-01", monkeypatch=monkeypatch).success
    manifest = json.loads((home / "exports" / "acme" / "2025-06-01" / "manifest.json").read_text())
    assert (
        manifest["rows"] == 0
        and pq.read_table(home / "exports" / "acme" / "2025-06-01" / "votes.parquet").num_rows == 0
    )


def test_missing_secret_writes_nothing(warehouse_home, monkeypatch):
    landing, home = warehouse_home
    result = run_export(landing, home, "nosecret", secret=None, monkeypatch=monkeypatch)
    assert not result.success
    assert not (home / "exports" / "nosecret").exists()
    with pytest.raises(holdout.HoldoutError, match="SHOWDOWN_LICENSE_KEY"):
        holdout.license_secret()


def test_tampered_export_fails_the_check_and_is_not_published(warehouse_home, monkeypatch):
    landing, home = warehouse_home
    key = holdout.licensee_key(SECRET.encode(), "tamper")

    def slip_in_a_young_row(staging):
        path = staging / "votes.parquet"
        table = pq.read_table(path)
        row = {name: [None] for name in table.column_names}
        row.update(
            vote_key=[holdout.pseudonym(key, "vote:60d-minus-1s")],
            contributor_key=["x"],
            distribution=["live"],
        )
        young = pa.Table.from_pydict(row, schema=table.schema)
        pq.write_table(pa.concat_tables([table, young]), path)

    monkeypatch.setattr(licensing_assets, "stage_hook", slip_in_a_young_row)
    result = run_export(landing, home, "tamper", monkeypatch=monkeypatch)
    assert not result.success
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}["holdout_window_respected"]
    assert not check.passed
    rules = {v["rule"] for v in check.metadata["violations"].value}
    assert {
        "live_vote_younger_than_holdout",
        "file_differs_from_manifest",
        "row_differs_from_warehouse",
    } <= rules
    assert not (home / "exports" / "tamper" / AS_OF).exists()
    published = [e.asset_key for e in result.get_asset_materialization_events()]
    assert dg.AssetKey("licensed_export") not in published


def test_holdout_days_is_a_constant_not_config():
    from showdown_pipeline.defs.licensing.assets import ExportConfig

    assert holdout.HOLDOUT_DAYS == 60
    assert set(ExportConfig.model_fields) == {"as_of"}
    cutoff, cut = holdout.export_window(date(2026, 6, 1))
    assert (cut - cutoff).days == 60 and cut.isoformat() == "2026-06-01T00:00:00+00:00"
