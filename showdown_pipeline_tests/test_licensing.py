"""The 60-day holdout and pseudonymised licensed exports: boundaries, time zones, leaks, tampering, the
as-of and secret rules at every entry point, keyed prompts, k-anonymity over the quasi-identifier
combination, coarsened precision, and the public snapshot's smallest segment."""

from __future__ import annotations

import json
import secrets
import shutil
import string
import uuid
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from showdown_pipeline import cli, snapshots
from showdown_pipeline.core import holdout, licensing
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
AS_OF = "2026-06-01"  # data cut 2026-06-01T00:00Z, holdout cutoff 2026-04-02T00:00Z
QI = ["country", "age_band", "education", "profession", "language"]
AGES = ["25-34", "35-44", "45-54", "55-64"]
ROUNDING_EDGES = [0, 7, 99, 100, 149, 150, 151, 995, 1234, 1250, 98_765_432]


def hexkey(tag: str) -> str:
    """A lower-case hex prompt hash of 16+ characters, distinct per tag."""
    return tag.encode().hex().rjust(16, "0")


BOUNDARY_VOTES = {
    # vote_id: (voted_at, distribution, prompt_hash, exported?)
    "exactly-60d": ("2026-04-02T00:00:00Z", "live", hexkey("p-a"), True),
    "60d-minus-1s": ("2026-04-02T00:00:01Z", "live", hexkey("p-b"), False),
    "60d-plus-1s": ("2026-04-01T23:59:59Z", "live", hexkey("p-c"), True),
    "tz-exactly-60d": ("2026-04-02T02:00:00+02:00", "live", hexkey("p-d"), True),
    "tz-60d-minus-1s": ("2026-04-01T20:00:01-04:00", "live", hexkey("p-e"), False),
    "offline-young": ("2026-05-01T00:00:00Z", "offline", hexkey("p-f"), True),
    "old-copy-of-live-prompt": ("2026-01-05T00:00:00Z", "offline", hexkey("p-live"), False),
    "live-prompt-in-window": ("2026-05-02T00:00:00Z", "live", hexkey("p-live"), False),
    "at-the-cut": ("2026-06-01T00:00:00Z", "offline", hexkey("p-g"), False),
    # its prompt is live on 2026-06-02, after the cut but in the warehouse: held out (no upper bound, v3)
    "prompt-only-after-cut": ("2026-02-01T00:00:00Z", "offline", hexkey("p-later"), False),
    "live-after-cut": ("2026-06-02T00:00:00Z", "live", hexkey("p-later"), False),
}


def people() -> list[dict]:
    """40 contributors whose every value is held by ≥ 10 of them but whose (country, age band) pairs are
    held by 5 (per-column k-anonymity passes, the combination does not), plus hostile rare ones."""
    crowd = [
        {
            "user_id": f"u-{k}",
            "country": "BR" if k % 2 else "DE",
            "age_band": AGES[(k // 2) % 4],
            "education": "master",
            "profession": "nurse" if k % 4 < 2 else "teacher",
            "verified": True,
            "verified_at": "2026-01-01T00:00:00Z",
        }
        for k in range(40)
    ]
    rare = [  # one of a kind on everything, and three Icelanders
        {"user_id": "u-lonely", "country": "IS", "age_band": "65+", "education": "doctorate"},
        *(
            {"user_id": f"u-is-{k}", "country": "IS", "age_band": "25-34", "education": "master"}
            for k in range(3)
        ),
    ]
    for r in rare:
        r.update(profession="volcanologist", verified=True, verified_at="2026-01-01T00:00:00Z")
    return (
        crowd
        + rare
        + [
            {"user_id": user, **JAPANESE_ENGINEER, "verified": True, "verified_at": "2026-01-01T00:00:00Z"}
            for user in JAPANESE_ENGINEERS
        ]
    )


# 21 contributors of one profile: ten vote in Japanese only, ten in English only, one in both. Every
# (profile, language) row combination is held by 11, but one pseudonym is the only {en, ja} voter.
JAPANESE_ENGINEER = {"country": "JP", "age_band": "35-44", "education": "bachelor", "profession": "engineer"}
JAPANESE_ENGINEERS = {
    **{f"u-ja-{k}": ("ja",) for k in range(10)},
    **{f"u-jp-en-{k}": ("en",) for k in range(10)},
    "u-bilingual": ("en", "ja"),
}


def bilingual_votes() -> list[dict]:
    out = []
    for user, languages in JAPANESE_ENGINEERS.items():
        for j in range(4):
            i = 4000 + len(out)
            out.append(
                retime(
                    vote(
                        i, user_id=user, language=languages[j % len(languages)], prompt_hash=hexkey(f"ja-{i}")
                    ),
                    f"2026-01-{1 + i % 28:02d}T09:{i % 60:02d}:00Z",
                    exported_at="2026-05-01T00:00:00Z",
                    distribution="offline",
                )
            )
    return out


def hostile_votes(rng: np.random.Generator) -> list[dict]:
    """Votes of the rare contributors (a rare language too), of a contributor writing in four languages,
    and of three voters without a profile."""
    out = []
    for i in range(60):
        user = ["u-lonely", "u-is-0", "u-is-1", "u-is-2", "u-1", "u-nobody-0", "u-nobody-1", "u-nobody-2"][
            i % 8
        ]
        lang = {"u-lonely": "is", "u-1": ["en", "pt", "is", "sw"][(i // 8) % 4]}.get(user, "en")
        out.append(
            vote(
                3000 + i,
                user_id=user,
                voted_at=f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(7 * i) % 60:02d}.123456Z",
                exported_at="2026-05-01T00:00:00Z",
                distribution="offline",
                language=lang,
                prompt_hash=hexkey(f"hostile-{i % 9}"),
                latency_ms_right=int(rng.integers(0, 60_000)),
            )
        )
    return out


@pytest.fixture(scope="module")
def warehouse_home(tmp_path_factory):
    root = tmp_path_factory.mktemp("licensing")
    landing = root / "landing"
    write_models(
        landing / "models.csv",
        [("m-a", "A", "p", None, None), ("m-b", "B", "p", None, None), ("m-c", "C", "p", None, None)],
    )
    rng = np.random.default_rng(4)
    background = random_valid_votes(0, 400, ["m-a", "m-b", "m-c"], seed=9, users=40)
    for i, v in enumerate(background):  # old, distinct prompts: all licensable
        edge = ROUNDING_EDGES[i % len(ROUNDING_EDGES)]
        retime(
            v,
            f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:{(3 * i) % 60:02d}:{i % 60:02d}.{i:06d}Z",
            exported_at="2026-05-01T00:00:00Z",
            distribution="offline",
            prompt_hash=f"{i:016x}",
            tokens_left=edge if i < 40 else int(rng.integers(0, 5000)),
            tokens_right=int(rng.integers(0, 5000)),
            headers_left=ROUNDING_EDGES[(i + 3) % len(ROUNDING_EDGES)],
            bold_right=int(rng.integers(0, 300)),
            latency_ms_left=edge if i < 40 else int(rng.integers(0, 30_000)),
        )
    special = [
        vote(
            1000 + k,
            vote_id=vid,
            user_id=f"u-{2 + k}",  # crowd voters in English only (u-1 writes in four languages: suppressed)
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
            prompt_hash=hexkey("quarantined"),
        )
    )
    votes = background + special + hostile_votes(rng) + bilingual_votes() + bot_votes()
    write_jsonl(landing / "votes" / "votes.jsonl", votes)
    write_jsonl(landing / "contributors" / "people.jsonl", people())
    home = root / "home"
    result = materialize_pipeline(landing, home, as_of="2026-07-01")
    assert result.success
    PIPELINE_RUN.append(result)
    return landing, home


BOT = "upstream-user-7731"  # an id anybody holding the upstream data (or guessing its pattern) knows
PIPELINE_RUN: list = []  # the warehouse's pipeline run, for its Dagster metadata


def bot_votes() -> list[dict]:
    """A bot that integrity flags (too fast): 30 votes, each 0.2 s after both answers were shown."""
    out = []
    for j in range(30):
        at = datetime(2026, 2, 10, 9, 0, tzinfo=UTC) + timedelta(minutes=j)
        out.append(
            vote(
                8000 + j,
                vote_id=f"bot-{j}",
                user_id=BOT,
                voted_at=at.isoformat(),
                shown_at=(at - timedelta(milliseconds=200)).isoformat(),
                exported_at="2026-05-01T00:00:00Z",
                distribution="offline",
                prompt_hash=hexkey(f"bot-{j}"),
            )
        )
    return out


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


def export_table(home, licensee: str, as_of: str = AS_OF) -> pa.Table:
    return pq.read_table(home / "exports" / licensee / as_of / "votes.parquet")


def warehouse_votes(home) -> pd.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return conn.sql("SELECT * FROM votes_clean").to_arrow_table().to_pandas()


def by_vote_id(home, licensee: str, as_of: str = AS_OF) -> pd.DataFrame:
    """The export with each row's vote id, recovered with the key (independently of the SQL)."""
    key = holdout.licensee_key(SECRET.encode(), licensee, date.fromisoformat(as_of))
    ids = warehouse_votes(home)["vote_id"]
    lookup = {holdout.pseudonym(key, "vote:" + i): i for i in ids}
    frame = export_table(home, licensee, as_of).to_pandas()
    return frame.assign(vote_id=frame["vote_key"].map(lookup))


def exported_ids(home, licensee: str, as_of: str = AS_OF) -> set[str]:
    return set(by_vote_id(home, licensee, as_of)["vote_id"])


def failure_messages(result) -> str:
    return " ".join(
        str(e.step_failure_data.error.message)
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE"
    )


@pytest.fixture(scope="module")
def two_licensees(warehouse_home):
    landing, home = warehouse_home
    with pytest.MonkeyPatch.context() as mp:
        for name in ("acme", "beta-labs"):
            assert run_export(landing, home, name, monkeypatch=mp).success
    return landing, home


# ---------------------------------------------------------------- the holdout rule


def test_holdout_boundaries_time_zones_and_prompt_leaks(two_licensees):
    landing, home = two_licensees
    ids = exported_ids(home, "acme")
    for vid, (*_, expected) in BOUNDARY_VOTES.items():
        assert (vid in ids) == expected, vid
    assert "quarantined" not in ids
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


def test_export_as_of_the_past_sees_only_its_own_window(warehouse_home, monkeypatch):
    landing, home = warehouse_home
    assert run_export(landing, home, "acme", as_of="2026-05-01", monkeypatch=monkeypatch).success
    ids = exported_ids(home, "acme", "2026-05-01")
    # as of May 1 the cutoff is March 2: the April votes are too young or after the cut
    assert "exactly-60d" not in ids and "offline-young" not in ids and "60d-plus-1s" not in ids
    # the live votes of May 2 and June 2 are after this cut but in the warehouse: their prompts hold the
    # January and February copies back (an export as of a past date licenses no prompt live now)
    assert "old-copy-of-live-prompt" not in ids and "prompt-only-after-cut" not in ids
    assert len(ids) > 300 and not ids & set(BOUNDARY_VOTES)  # every boundary vote is young, late or guarded


def test_empty_export_is_published_with_zero_rows(warehouse_home, monkeypatch):
    landing, home = warehouse_home
    assert run_export(landing, home, "acme", as_of="2025-06-01", monkeypatch=monkeypatch).success
    manifest = json.loads((home / "exports" / "acme" / "2025-06-01" / "manifest.json").read_text())
    assert manifest["rows"] == 0 and export_table(home, "acme", "2025-06-01").num_rows == 0


def test_holdout_days_is_a_constant_not_config():
    from showdown_pipeline.defs.licensing.assets import ExportConfig

    assert holdout.HOLDOUT_DAYS == 60
    assert set(ExportConfig.model_fields) == {"as_of"}
    cutoff, cut = holdout.export_window(date(2026, 6, 1))
    assert (cut - cutoff).days == 60 and cut.isoformat() == "2026-06-01T00:00:00+00:00"


# ---------------------------------------------------------------- as-of never later than today (UTC)


def test_as_of_rule_allows_today_and_refuses_tomorrow():
    today = date(2026, 6, 1)
    assert holdout.check_export_as_of(today, today=today) == today
    assert holdout.check_export_as_of(date(2020, 1, 1), today=today) == date(2020, 1, 1)
    with pytest.raises(holdout.HoldoutError, match="later than today") as refused:
        holdout.check_export_as_of(date(2026, 6, 2), today=today)
    assert "\n" not in str(refused.value) and "nothing was written" in str(refused.value)
    # without an injected today, today is the UTC date
    utc_today = datetime.now(UTC).date()
    assert holdout.check_export_as_of(utc_today) == utc_today
    with pytest.raises(holdout.HoldoutError):
        holdout.check_export_as_of(utc_today + timedelta(days=1))


def test_dagster_config_refuses_a_future_as_of_and_stages_nothing(warehouse_home, monkeypatch):
    landing, home = warehouse_home
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    result = run_export(landing, home, "future-cfg", as_of=tomorrow, monkeypatch=monkeypatch)
    assert not result.success
    assert f"export as-of {tomorrow} is later than today" in failure_messages(result)
    assert not (home / "exports" / "future-cfg").exists()  # no staging folder either
    assert not result.get_asset_check_evaluations()


def fresh_home(home, tmp_path):
    """A new home holding only a copy of the warehouse: no Dagster instance, no exports."""
    target = tmp_path / "home"
    target.mkdir()
    for f in home.glob("warehouse.duckdb*"):
        shutil.copy(f, target / f.name)
    return target


def test_cli_refuses_a_future_as_of_in_one_line_starts_no_run_and_allows_today(
    warehouse_home, tmp_path, monkeypatch, capsys
):
    landing, home = warehouse_home
    target = fresh_home(home, tmp_path)
    monkeypatch.setenv(holdout.SECRET_ENV, SECRET)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))  # restored after the CLI sets it
    today = datetime.now(UTC).date()
    argv = ["export", "--licensee", "acme", "--home", str(target), "--landing", str(landing)]
    assert cli.main([*argv, "--as-of", (today + timedelta(days=1)).isoformat()]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "later than today" in err
    assert not (target / "exports").exists() and not (target / "dagster").exists()  # no run was started
    assert cli.main([*argv, "--as-of", today.isoformat()]) == 0
    assert (target / "exports" / "acme" / today.isoformat() / "votes.parquet").is_file()
    assert "10-anonymous" in capsys.readouterr().out


def test_no_export_schedule_requests_an_as_of():
    """Exports are requested only by hand (CLI, UI); if a schedule ever does, it must use the same rule."""
    from showdown_pipeline.definitions import build_definitions

    defs = build_definitions("/nonexistent-landing", "/nonexistent-home")
    assert defs.schedules and defs.sensors  # the nightly schedule and the landing sensor exist …
    for automation in [*defs.schedules, *defs.sensors]:  # … and neither requests an export
        assert automation.job_name != "licensed_export_job", automation.name


# ---------------------------------------------------------------- the secret


WEAK_SECRETS = {
    "sixteen spaces": " " * 16,
    "one letter repeated": "a" * 64,
    "alphabet run": "abcdefghijklmnopqrstuvwxyz012345",
    "stepped run": "acegikmoqsuwy13579bdfhjlnprtvxz02",
    "interleaved runs": "aZbYcXdWeVfUgThSiRjQkPlOmNnMoLpK",
    "keyboard walk": "qwertyuiopasdfghjklzxcvbnm123456",
    "keyboard columns": "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9",
    "old test secret": "test-secret-0123456789",
    "pasted twice": SECRET[:16] * 2,
    "words run together": "thequickbrownfoxjumpsoverthelazydog",
    "digits only": "31415926535897932384626433832795028841971",
    "surrounding space": f" {SECRET}",
    "trailing newline": f"{SECRET}\n",
    "zero-width space inside": SECRET[:10] + "\u200b" + SECRET[10:],
    "a tab inside": SECRET[:10] + "\t" + SECRET[10:],
    # issue-11 review: classes the entropy estimate alone let through
    "shifted keyboard walk": "!QAZ@WSX#EDC$RFV%TGB^YHN&UJM*IK<",
    "published in this repository": "Zq3v9LrT1xW8pB2nK7mD4sF6hJ0cY5gA",
    "base64 of a repeated word": "cGFzc3dvcmRwYXNzd29yZHBhc3N3b3Jk",
    "base64url of a sentence": "dGhlcXVpY2ticm93bmZveGp1bXBzb3ZlcnRoZWxhenlkb2c=",
    "base64 of a phrase pasted thrice": "U3VtbWVyMjAyNiFTdW1tZXIyMDI2IVN1bW1lcjIwMjYh",
    "base64 of counting bytes": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    "a timestamp": "2026-12-02T12:42:48.123456+00:00Z",
    "a date and time, spelled otherwise": "Tue 02/12/2026 12:42:48.123456 GMT+0000",
    "a time-based (v1) UUID": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    "a time-ordered (v7) UUID": "01938a6e-3f2b-7c4d-9e8f-0a1b2c3d4e5f",
}


@pytest.mark.parametrize("name", WEAK_SECRETS)
def test_weak_secrets_are_refused_with_how_to_make_a_good_one(name, monkeypatch):
    monkeypatch.setenv(holdout.SECRET_ENV, WEAK_SECRETS[name])
    with pytest.raises(holdout.HoldoutError) as refused:
        holdout.license_secret()
    message = str(refused.value)
    assert "secrets.token_urlsafe(32)" in message and "nothing was written" in message
    assert "\n" not in message


def test_generated_secrets_pass(monkeypatch):
    """Secrets made by a generator pass, whatever encoding they are in (hex and base64 are decoded and
    judged by their bytes): token_hex, token_urlsafe, random letters and digits, v4 UUIDs."""
    letters = string.ascii_letters + string.digits
    for secret in (
        [SECRET]
        + [secrets.token_hex(32) for _ in range(300)]
        + [secrets.token_urlsafe(32) for _ in range(300)]
        + ["".join(secrets.choice(letters) for _ in range(32)) for _ in range(300)]
        + [f"{uuid.uuid4()}-{uuid.uuid4()}" for _ in range(100)]
    ):
        assert holdout.secret_weakness(secret) is None, secret
    monkeypatch.setenv(holdout.SECRET_ENV, SECRET)
    assert holdout.license_secret() == SECRET.encode()


@pytest.mark.parametrize("secret", [None, " " * 16, "a" * 40])
def test_missing_or_weak_secret_writes_nothing_from_dagster_or_the_cli(
    secret, warehouse_home, tmp_path, monkeypatch, capsys
):
    landing, home = warehouse_home
    result = run_export(landing, home, "nosecret", secret=secret, monkeypatch=monkeypatch)
    assert not result.success and "SHOWDOWN_LICENSE_KEY" in failure_messages(result)
    assert not (home / "exports" / "nosecret").exists()
    target = fresh_home(home, tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    assert cli.main(["export", "--licensee", "x", "--home", str(target), "--as-of", AS_OF]) == 2
    assert "token_urlsafe" in capsys.readouterr().err
    assert not (target / "exports").exists() and not (target / "dagster").exists()


# ---------------------------------------------------------------- no upstream identifier leaves


def test_no_raw_ids_and_no_exported_prompt_equals_an_upstream_hash_in_any_case(two_licensees):
    landing, home = two_licensees
    table = export_table(home, "beta-labs")
    assert not set(table.column_names) & set(holdout.FORBIDDEN_COLUMNS)
    assert "prompt_key" in table.column_names
    text = json.dumps(table.to_pylist(), default=str)
    assert '"u-1"' not in text and "ip1" not in text and '"v-1"' not in text
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        upstream = {
            r[0].lower() for r in conn.execute("SELECT prompt_hash FROM raw_votes").fetchall() if r[0]
        }
    assert len(upstream) > 400
    values = {str(v).lower() for col in table.column_names for v in table.column(col).to_pylist() if v}
    assert not values & upstream
    # the keyed prompt still groups a prompt's votes: equal hashes, equal keys; it is the HMAC
    frame = by_vote_id(home, "beta-labs").merge(
        warehouse_votes(home)[["vote_id", "prompt_hash"]], on="vote_id"
    )
    assert (frame.groupby("prompt_hash")["prompt_key"].nunique() == 1).all()
    key = holdout.licensee_key(SECRET.encode(), "beta-labs", date.fromisoformat(AS_OF))
    assert all(
        k == holdout.pseudonym(key, "prompt:" + h)
        for k, h in zip(frame["prompt_key"], frame["prompt_hash"], strict=True)
    )


def test_two_licensees_share_no_prompt_contributor_or_vote_key(two_licensees):
    _, home = two_licensees
    acme, beta = export_table(home, "acme"), export_table(home, "beta-labs")
    assert acme.num_rows == beta.num_rows > 400
    for column in ("vote_key", "contributor_key", "prompt_key"):
        assert not set(acme.column(column).to_pylist()) & set(beta.column(column).to_pylist()), column
    # same as-of, same generalisation: aligning the two copies tells neither anything the other lacks
    manifests = [
        json.loads((home / "exports" / n / AS_OF / "manifest.json").read_text())
        for n in ("acme", "beta-labs")
    ]
    first, second = (m["k_anonymity"] for m in manifests)
    assert (
        first["generalised"] == second["generalised"]
        and first["suppressed_votes"] == second["suppressed_votes"]
    )
    rows = [t.select(QI).to_pandas().fillna("").value_counts().sort_index() for t in (acme, beta)]
    assert rows[0].equals(rows[1])


def test_one_licensees_exports_at_two_as_of_dates_share_no_key(two_licensees, monkeypatch):
    """Issue-11 review, P2: the key was per licensee only, so one licensee's monthly exports shared every
    contributor_key and vote_key and joined exactly, with no work. Keys are now per export (licensee and
    as-of); what content alignment still gives is measured (README, bench/bench_licensing.py)."""
    landing, home = two_licensees
    assert run_export(landing, home, "acme", as_of="2026-05-15", monkeypatch=monkeypatch).success
    june, may = export_table(home, "acme"), export_table(home, "acme", "2026-05-15")
    assert may.num_rows > 300
    for column in ("vote_key", "contributor_key", "prompt_key"):
        assert not set(june.column(column).to_pylist()) & set(may.column(column).to_pylist()), column
    # the same votes are there under other keys: each export's own key recovers them
    assert (
        len(set(by_vote_id(home, "acme")["vote_id"]) & set(by_vote_id(home, "acme", "2026-05-15")["vote_id"]))
        > 300
    )
    manifest = json.loads((home / "exports" / "acme" / "2026-05-15" / "manifest.json").read_text())
    assert manifest["policy_version"] == "holdout-60d/v3"
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        records, files = conn.execute(
            "SELECT (SELECT count(*) FROM votes_checked), (SELECT count(*) FROM landing_files)"
        ).fetchall()[0]
    assert (manifest["warehouse"]["vote_records"], manifest["warehouse"]["landing_files"]) == (records, files)


def test_rows_are_in_each_licensees_own_order(two_licensees):
    _, home = two_licensees
    acme, beta = by_vote_id(home, "acme"), by_vote_id(home, "beta-labs")
    assert list(acme["vote_key"]) == sorted(acme["vote_key"])
    assert list(acme["vote_id"]) != list(beta["vote_id"])  # row i is not the same vote in both copies
    assert list(acme["vote_id"]) != list(acme.sort_values("voted_on", kind="stable")["vote_id"])


# ---------------------------------------------------------------- k-anonymity over the combination


def test_every_quasi_identifier_combination_is_held_by_k_contributors(two_licensees):
    """Recomputed from the written file. Fails on per-column k-anonymity: every value of this world is
    held by ≥ 10 contributors, but (country, age band) pairs by 5."""
    _, home = two_licensees
    frame = export_table(home, "acme").to_pandas()
    holders = frame.fillna("<NULL>").groupby(QI)["contributor_key"].nunique()
    assert holders.min() >= holdout.K_ANONYMITY, holders[holders < holdout.K_ANONYMITY]
    # each contributor keeps one profile across all their rows (value-level global recoding)
    assert (frame.groupby("contributor_key")[QI[:4]].nunique(dropna=False) <= 1).all().all()
    # the one-of-a-kind values never appear
    assert not {"IS", "volcanologist", "65+", "doctorate", "is", "sw"} & set(frame[QI].stack())


def test_no_contributor_is_singled_out_by_the_set_of_languages_under_their_pseudonym(two_licensees):
    """Issue-11 review, P1. Rows of one contributor share a pseudonym, so a licensee sees each one's set
    of languages. The Japanese engineers' every (profile, language) row combination is held by 11, so the
    old row-level rule exported the one {en, ja} voter as a profile of one: whoever knows a Japanese
    engineer who votes in both had their whole history. Now every contributor's (demographics, set of
    languages) is held by ≥ 10 pseudonyms, recounted from the written file."""
    _, home = two_licensees
    frame = by_vote_id(home, "acme").fillna("<NULL>")
    profiles = frame.groupby("contributor_key").agg(
        **{a: (a, "first") for a in QI[:4]}, languages=("language", lambda s: "|".join(sorted(set(s))))
    )
    assert profiles.value_counts().min() >= holdout.K_ANONYMITY
    assert frame.groupby(QI)["contributor_key"].nunique().min() >= holdout.K_ANONYMITY
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        users = dict(conn.execute("SELECT vote_id, user_id FROM votes_clean").fetchall())
    exported_users = {users[v] for v in frame["vote_id"]}
    assert "u-bilingual" not in exported_users  # suppressed: nobody else votes in both
    assert {f"u-ja-{k}" for k in range(10)} | {f"u-jp-en-{k}" for k in range(10)} <= exported_users


def test_manifest_reports_what_was_generalised_and_suppressed(two_licensees):
    _, home = two_licensees
    manifest = json.loads((home / "exports" / "acme" / AS_OF / "manifest.json").read_text())
    k = manifest["k_anonymity"]
    assert k["k"] == 10 and k["quasi_identifiers"] == QI
    assert k["generalised"] and all(isinstance(m, dict) for m in k["generalised"].values())
    frame = by_vote_id(home, "acme").merge(
        warehouse_votes(home)[["vote_id", "user_id", *(f"{a}" for a in QI)]],
        on="vote_id",
        suffixes=("", "_raw"),
    )
    for a in QI:  # the export's values are exactly the declared recoding of the warehouse's
        declared = k["generalised"].get(a, {})
        want = [declared.get(v, v) if isinstance(v, str) else v for v in frame[f"{a}_raw"]]
        assert [v if isinstance(v, str) else None for v in frame[a]] == [
            v if isinstance(v, str) else None for v in want
        ], a
    # suppression: the lonely volcanologist and the voters without a profile lose their votes, and the
    # votes the holdout allows but the export lacks are exactly the suppressed ones
    users = set(frame["user_id"])
    assert "u-lonely" not in users and not any(u.startswith("u-nobody") for u in users)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        counted = conn.sql("SELECT * FROM votes_counted").to_arrow_table().to_pandas()
    cut, cutoff = pd.Timestamp(AS_OF, tz="UTC"), pd.Timestamp("2026-04-02", tz="UTC")
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        records = conn.sql("SELECT * FROM votes_checked").to_arrow_table().to_pandas()
    guarded = records[  # the leak guard (core/holdout.py): any record that might be live, after the cutoff
        records["distribution"].isin(["live", None]) & ~(records["voted_at"] <= cutoff)
    ]
    window = set().union(*map(holdout.protected_prompt_keys, guarded["prompt_hash"].dropna()))
    allowed = counted[
        (counted["voted_at"] < cut)
        & ~((counted["distribution"] == "live") & (counted["voted_at"] > cutoff))
        & ~counted["prompt_hash"].isin(window)
    ]
    missing = allowed[~allowed["vote_id"].isin(set(frame["vote_id"]))]
    assert len(missing) == k["suppressed_votes"] > 0
    assert {"u-lonely", "u-nobody-0"} <= set(missing["user_id"])
    assert k["contributors_with_suppressed_votes"] == missing["user_id"].nunique()
    # values held only by suppressed contributors are not named in the manifest
    kept = warehouse_votes(home)[lambda v: v["user_id"].isin(users)]
    only_suppressed = {a: set(missing[a].dropna()) - set(kept[a].dropna()) for a in QI}
    assert "65+" in only_suppressed["age_band"] and "doctorate" in only_suppressed["education"]  # u-lonely
    named = {a: set(m) for a, m in k["generalised"].items()}
    assert not any(only_suppressed[a] & named.get(a, set()) for a in QI), named


# ---------------------------------------------------------------- precision of what a licensee gets


def two_significant(x: int) -> int:
    if abs(x) < 100:
        return x
    step = 10 ** (len(str(abs(x))) - 2)
    return int(np.sign(x)) * int((abs(x) / step) + 0.5) * step


def test_times_and_counts_are_no_finer_than_promised(two_licensees):
    _, home = two_licensees
    table = export_table(home, "acme")
    assert "voted_at" not in table.column_names and table.schema.field("voted_on").type == pa.date32()
    frame = by_vote_id(home, "acme").merge(warehouse_votes(home), on="vote_id", suffixes=("", "_raw"))
    assert (frame["voted_on"] == frame["voted_at"].dt.tz_convert("UTC").dt.date).all()
    for col in ("tokens_left", "tokens_right", "headers_left", "headers_right", "bold_right"):
        assert list(frame[col]) == [two_significant(int(x)) for x in frame[f"{col}_raw"]], col
    # 99, 149, 995, 1234, 1250, 98,765,432
    assert {99, 150, 1000, 1200, 1300, 99_000_000} <= set(frame["tokens_left"])
    for col in ("latency_ms_left", "latency_ms_right"):
        assert (frame[col] % 100 == 0).all()
        assert ((frame[col] - frame[f"{col}_raw"]).abs() <= 50).all()
    assert {100, 200} <= set(frame["latency_ms_left"])  # 149 -> 100, 150 -> 200, 151 -> 200


# ---------------------------------------------------------------- the blocking re-check


def _slip_in_a_young_row(staging, key):
    path = staging / "votes.parquet"
    table = pq.read_table(path)
    row = {name: [None] for name in table.column_names}
    row.update(
        vote_key=[holdout.pseudonym(key, "vote:60d-minus-1s")], contributor_key=["x"], distribution=["live"]
    )
    pq.write_table(pa.concat_tables([table, pa.Table.from_pydict(row, schema=table.schema)]), path)


def _put_back_a_raw_country(staging, key):
    path = staging / "votes.parquet"
    frame = pq.read_table(path).to_pandas()
    frame.loc[frame.index[:3], "country"] = "IS"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def _exact_latency(staging, key):
    path = staging / "votes.parquet"
    frame = pq.read_table(path).to_pandas()
    frame["latency_ms_left"] = frame["latency_ms_left"] + 1
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def _give_a_contributor_a_second_language(staging, key):
    """One English-only pseudonym gets one row in the export's second most common language: every row
    combination may still be common, but that pseudonym's set of languages is its own."""
    path = staging / "votes.parquet"
    frame = pq.read_table(path).to_pandas()
    languages = frame["language"].value_counts().index
    english = frame[frame["language"] == languages[0]]
    single = english.groupby("contributor_key")["language"].size()
    target = english[english["contributor_key"] == single[single >= 2].index[0]].index[0]
    frame.loc[target, "language"] = languages[1]
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def _raw_prompt_hash_column(staging, key):
    path = staging / "votes.parquet"
    table = pq.read_table(path)
    pq.write_table(table.append_column("prompt_hash", table.column("prompt_key")), path)


@pytest.mark.parametrize(
    ("tamper", "rules"),
    [
        (
            _slip_in_a_young_row,
            {"live_vote_younger_than_holdout", "file_differs_from_manifest", "row_differs_from_warehouse"},
        ),
        (
            _put_back_a_raw_country,
            {
                "quasi_identifier_differs_from_declared_recoding",
                "quasi_identifier_combination_below_k",
                "contributor_quasi_identifiers_vary",
            },
        ),
        (_exact_latency, {"count_finer_than_promised_or_off"}),
        (
            _give_a_contributor_a_second_language,
            {"contributor_profile_below_k", "quasi_identifier_differs_from_declared_recoding"},
        ),
        (_raw_prompt_hash_column, {"forbidden_column"}),
    ],
)
def test_tampered_export_fails_the_check_and_is_not_published_nor_left_on_disk(
    tamper, rules, warehouse_home, monkeypatch
):
    """A refused export is removed, not left in exports/<licensee>/.staging/ for whoever ships the folder
    (issue-11 review, L1: discard_staging was called nowhere); the evidence is the check's metadata."""
    landing, home = warehouse_home
    key = holdout.licensee_key(SECRET.encode(), "tamper", date.fromisoformat(AS_OF))
    monkeypatch.setattr(licensing_assets, "stage_hook", lambda staging: tamper(staging, key))
    result = run_export(landing, home, "tamper", monkeypatch=monkeypatch)
    assert not result.success
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}["holdout_window_respected"]
    assert not check.passed
    assert rules <= {v["rule"] for v in check.metadata["violations"].value}
    assert not (home / "exports" / "tamper" / AS_OF).exists()
    assert dg.AssetKey("licensed_export") not in [
        e.asset_key for e in result.get_asset_materialization_events()
    ]
    assert check.metadata["staging_removed"].value is True
    assert not list((home / "exports").glob("tamper/**/*.parquet"))  # not even the staged copy
    assert not (home / "exports" / "tamper").exists()  # nor an empty staging folder


def test_a_failure_after_staging_leaves_nothing_in_the_licensees_folder(warehouse_home, monkeypatch):
    """Anything that fails once the export is staged (here the hook, standing for a crash in the
    re-check) removes the staged copy: a failed run leaves no votes file behind."""

    def crash(staging):
        assert (staging / "votes.parquet").is_file()  # it was staged …
        raise RuntimeError("disk full while verifying")

    monkeypatch.setattr(licensing_assets, "stage_hook", crash)
    result = run_export(warehouse_home[0], warehouse_home[1], "crashing", monkeypatch=monkeypatch)
    assert not result.success and "disk full" in str(result.all_events)
    assert not (warehouse_home[1] / "exports" / "crashing").exists()  # … and is gone


def test_dagster_metadata_carries_no_form_of_a_flagged_voters_upstream_id(warehouse_home):
    """Issue-11 review, P3: the user_flags preview showed sha256(user_id)[:10], unsalted, so anybody who
    holds or can enumerate upstream ids maps a preview row back to the flagged person. The event log
    lives outside the warehouse: no metadata of the run holds the id or any hash prefix of it."""
    import hashlib

    with duckdb.connect(str(warehouse_home[1] / "warehouse.duckdb"), read_only=True) as conn:
        assert (BOT,) in conn.execute("SELECT DISTINCT user_id FROM user_flags").fetchall()
    texts = [
        str(v.value)
        for e in PIPELINE_RUN[0].get_asset_materialization_events()
        for v in e.materialization.metadata.values()
    ] + [str(v.value) for e in PIPELINE_RUN[0].get_asset_check_evaluations() for v in e.metadata.values()]
    assert any("too_fast" in t for t in texts)  # the flag itself is reported
    digests = [BOT] + [h(BOT.encode()).hexdigest()[:8] for h in (hashlib.sha256, hashlib.md5, hashlib.sha1)]
    assert not [d for d in digests if any(d in t for t in texts)]


# ---------------------------------------------------------------- the public snapshot


def test_public_snapshot_withholds_segments_of_fewer_than_k_voters(warehouse_home):
    """Iceland (4 voters) and Icelandic (1) would be boards of a handful of people's votes."""
    _, home = warehouse_home
    snap = snapshots.latest(home)
    board = snap.leaderboard()
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        voters = dict(
            conn.execute(
                "SELECT country, count(DISTINCT user_id) FROM votes_counted WHERE country IS NOT NULL GROUP BY 1"
            ).fetchall()
        )
    assert voters["IS"] < holdout.K_ANONYMITY <= voters["BR"]
    countries = set(board.loc[board["segment_dim"] == "country", "segment_value"])
    assert "BR" in countries and "IS" not in countries
    languages = set(board.loc[board["segment_dim"] == "language", "segment_value"])
    assert "en" in languages and not {"is", "sw", "pt"} & languages
    assert not set(board.loc[board["segment_dim"] == "profession", "segment_value"]) & {"volcanologist"}
    withheld = snap.manifest["segments"]["country"]["withheld_below_k_voters"]
    assert withheld["min_voters"] == holdout.K_ANONYMITY and withheld["values"] == 1 and withheld["rows"] > 0
