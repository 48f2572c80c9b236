"""The provider transparency ledger and the pre-release rule through the real pipeline: two snapshots (the
second's window starts at the first's cut and is compared with the first's sampling plan), a licensed export
between them, providers.parquet checked against counts made here with SQL of our own on the warehouse."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from showdown_pipeline import cli, snapshots
from showdown_pipeline.core import providers
from showdown_pipeline.core.warehouse import duckdb_session
from showdown_pipeline_tests.conftest import TEST_SECRET, materialize_pipeline
from showdown_pipeline_tests.landing_builder import random_valid_votes, retime, vote, write_jsonl
from showdown_pipeline_tests.test_licensing import run_export

LICENSEE = "acme-lab"
# model -> the provider the ledger must list it under, written by hand (not by providers.provider_names):
# `acme` joins `Acme` (case), an empty provider and the literal `Unknown` are the unknown provider.
PROVIDER = {
    "m-a": "Acme",
    "m-b": "Acme",
    "m-c": "Acme",
    "m-d": "Beta <b>&\"'",
    "m-e": "unknown",
    "m-u": "unknown",
    "m-old": "Beta <b>&\"'",
    "m-gone": "Gamma",
    "m-pre": "Gamma",
}
MODELS_CSV = [
    # model_id, display_name, provider, released_at, deprecated_at, pre_release
    ("m-a", "A", "Acme", "2026-01-01T00:00:00Z", "", ""),
    ("m-b", "B", "Acme", "2026-01-01T00:00:00Z", "", "no"),
    ("m-c", "C", "acme", "2026-01-01T00:00:00Z", "", "FALSE"),
    ("m-d", "D", "Beta <b>&\"'", "2026-01-01T00:00:00Z", "", ""),
    ("m-e", "E", "", "2026-01-01T00:00:00Z", "", ""),
    ("m-u", "U", "Unknown", "2026-01-01T00:00:00Z", "", ""),
    ("m-old", "Old", "Beta <b>&\"'", "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z", ""),
    ("m-gone", "Gone", "Gamma", "2026-01-01T00:00:00Z", "2026-06-15T00:00:00Z", ""),
    ("m-pre", "Pre", "Gamma", "2026-04-01T00:00:00Z", "", "\uff59\uff45\uff53"),  # fullwidth "yes"
    ("m-bad", "Bad", "Gamma", "2026-01-01T00:00:00Z", "", "maybe"),  # not a boolean: the row is unusable
]
FIRST_CUT, SECOND_CUT = "2026-06-01", "2026-07-01"


def write_registry(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["model_id", "display_name", "provider", "released_at", "deprecated_at", "pre_release"]
        )
        writer.writerows(MODELS_CSV)


def spread(records: list[dict], start: datetime, days: int, tag: str) -> list[dict]:
    """The votes moved evenly over `days` days from `start`, with ids of their own."""
    step = timedelta(days=days) / max(len(records), 1)
    out = []
    for k, r in enumerate(records):
        when = start + k * step
        record = {
            **r,
            "vote_id": f"{tag}-{k}",
            "battle_id": f"{tag}-b{k}",
            "prompt_hash": f"{hash(tag) % 997:04x}{k:016x}",
        }
        out.append(retime(record, when.isoformat(), exported_at=(when + timedelta(hours=1)).isoformat()))
    return out


@pytest.fixture(scope="module")
def ledger_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("providers")
    landing, home = root / "landing", root / "home"
    write_registry(landing / "models.csv")
    march = random_valid_votes(0, 1400, ["m-a", "m-b", "m-c", "m-d", "m-e", "m-u", "m-old", "m-gone"], 7, 400)
    write_jsonl(landing / "votes" / "march.jsonl", spread(march, datetime(2026, 3, 1, tzinfo=UTC), 30, "mar"))
    before = [vote(5000 + k, model_left="m-pre", model_right="m-a", user_id=f"u-{k}") for k in range(40)]
    write_jsonl(landing / "votes" / "pre.jsonl", spread(before, datetime(2026, 3, 10, tzinfo=UTC), 10, "pre"))
    after = random_valid_votes(6000, 300, ["m-pre", "m-a", "m-d"], 8, 300)
    bad = [vote(7000 + k, model_left="m-bad", model_right="m-a", user_id=f"u-{k}") for k in range(5)]
    write_jsonl(
        landing / "votes" / "april.jsonl", spread(after + bad, datetime(2026, 4, 2, tzinfo=UTC), 20, "apr")
    )
    first = materialize_pipeline(landing, home, as_of=FIRST_CUT, segment_bootstrap=0)
    assert first.success
    snap1 = snapshots.latest(home)
    with pytest.MonkeyPatch.context() as mp:
        assert run_export(
            landing, home, LICENSEE, as_of=SECOND_CUT, secret=TEST_SECRET, monkeypatch=mp
        ).success
    # June: m-b is never shown although the first snapshot's plan asks for it
    june = random_valid_votes(9000, 600, ["m-a", "m-c", "m-d", "m-e", "m-pre", "m-gone"], 9, 400)
    june = [v for v in june if "m-gone" not in (v["model_left"], v["model_right"])] + [
        v for v in june if "m-gone" in (v["model_left"], v["model_right"])
    ]
    write_jsonl(landing / "votes" / "june.jsonl", spread(june, datetime(2026, 6, 1, tzinfo=UTC), 13, "jun"))
    # m-b gets no June vote, yet the June votes move its rating relative to the others: that breaker is not
    # what this test is about
    second = materialize_pipeline(
        landing, home, as_of=SECOND_CUT, segment_bootstrap=0, overrides=("no_movement_without_new_votes",)
    )
    assert second.success
    return home, snap1, snapshots.latest(home)


def own_sides(home, sql: str, params: list) -> dict[str, int]:
    """Sides per provider from per-model counts of our own statement (model, n), mapped by PROVIDER."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute(sql, params).fetchall()
    out: dict[str, int] = {}
    for model, n in rows:
        out[PROVIDER[model]] = out.get(PROVIDER[model], 0) + n
    return out


BATTLES_SQL = """
SELECT m, count(*) FROM (
    SELECT DISTINCT battle_id, model_left, model_right FROM votes_clean
    WHERE voted_at >= CAST(? AS TIMESTAMPTZ) AND voted_at < CAST(? AS TIMESTAMPTZ)
) AS b, LATERAL (SELECT unnest([b.model_left, b.model_right]) AS m)
GROUP BY m
"""
VOTES_SQL = """
SELECT m, count(*) FROM votes_counted AS v, LATERAL (SELECT unnest([v.model_left, v.model_right]) AS m)
WHERE v.voted_at < CAST(? AS TIMESTAMPTZ) GROUP BY m
"""
LICENSED_SQL = """
SELECT m, count(*) FROM read_parquet(?) AS v, LATERAL (SELECT unnest([v.model_left, v.model_right]) AS m)
GROUP BY m
"""


def test_ledger_shares_sum_to_one_and_equal_counts_made_independently_on_the_warehouse(ledger_run):
    """Before: no providers.parquet. Each share column sums to 1; battle sides equal our own count of the
    window's distinct battles (June: from the first snapshot's cut to the second's), vote sides our own count
    of the counted votes at the cut, licensed sides our own count of the export's rows; `acme` is `Acme`."""
    home, _, snap = ledger_run
    ledger = snap.providers().set_index("provider")
    for kind in ("battle", "vote", "licensed"):
        assert ledger[f"{kind}_share"].sum() == pytest.approx(1.0, abs=1e-12)
        assert (ledger[f"{kind}_share"] * ledger[f"{kind}_sides"].sum()).round().astype(
            int
        ).tolist() == ledger[f"{kind}_sides"].tolist()
    cut = f"{SECOND_CUT}T00:00:00Z"
    battles = own_sides(home, BATTLES_SQL, [f"{FIRST_CUT}T00:00:00Z", cut])
    votes = own_sides(home, VOTES_SQL, [cut])
    export = str(home / "exports" / LICENSEE / SECOND_CUT / "votes.parquet")
    licensed = own_sides(home, LICENSED_SQL, [export])
    assert sum(licensed.values()) > 0 and set(battles) >= {"Acme", "unknown", "Gamma"}
    for name, row in ledger.iterrows():
        assert row["battle_sides"] == battles.get(name, 0), name
        assert row["vote_sides"] == votes.get(name, 0), name
        assert row["licensed_sides"] == licensed.get(name, 0), name
    section = snap.manifest["providers"]
    assert section["window"]["start_utc"].startswith(FIRST_CUT) and section["window"]["previous_snapshot"]
    assert section["battles"] * 2 == sum(battles.values()) and section["exports"][0]["counted"] is True
    assert "providers.parquet" in snap.manifest["files"] and not snap.verify()


def test_unknown_provider_keeps_models_without_a_provider_and_no_export_is_null_not_zero(ledger_run):
    """m-e (empty provider) and m-u (provider `Unknown`) are listed under `unknown` with their sides, never
    dropped; before the export, the licensed columns are null (nothing licensed), not 0."""
    _, snap1, snap2 = ledger_run
    for snap in (snap1, snap2):
        ledger = snap.providers().set_index("provider")
        assert {m["model_id"] for m in ledger.loc["unknown", "models_active"]} == {"m-e", "m-u"}
        assert ledger.loc["unknown", "vote_sides"] > 0 and "acme" not in ledger.index
    first = snap1.providers()
    assert first["licensed_sides"].isna().all() and first["licensed_share"].isna().all()
    assert snap1.manifest["providers"]["licensed_rows"] is None


def test_deprecations_in_the_window_are_listed_with_their_dates_in_the_file_and_the_report(ledger_run):
    """The first window (no earlier snapshot: every vote before the cut) holds m-old's deprecation on
    2026-04-01; the second (June) holds m-gone's on 2026-06-15 and no longer lists m-old, which was gone
    before it started; the report shows each with its date."""
    _, snap1, snap2 = ledger_run

    def deprecated(snap) -> dict[str, str]:
        return {
            m["model_id"]: f"{m['deprecated_at']:%Y-%m-%d}"
            for models in snap.providers()["models_deprecated"]
            for m in models
        }

    assert deprecated(snap1) == {"m-old": "2026-04-01"}
    assert deprecated(snap2) == {"m-gone": "2026-06-15"}
    active2 = {m["model_id"] for models in snap2.providers()["models_active"] for m in models}
    assert "m-old" not in active2 and {"m-gone", "m-pre", "m-b"} <= active2
    html = (snap2.path / "index.html").read_text(encoding="utf-8")
    assert "<code>m-gone</code> on 2026-06-15" in html
    assert "Beta &lt;b&gt;&amp;&#34;&#39;" in html and "Beta <b>" not in html


def test_a_model_shown_far_less_than_the_previous_plan_asked_is_listed_under_plan(ledger_run):
    """The first snapshot has no earlier plan: models_under_plan is null and the manifest says none. In June,
    m-b is never shown although the first snapshot's plan gives it a share of battles: it is listed under
    Acme with 0 battles of the ones asked; a model shown about as asked (m-a) is not."""
    home, snap1, snap2 = ledger_run
    assert snap1.providers()["models_under_plan"].isna().all()
    assert snap1.manifest["providers"]["plan_comparison"]["plan"].startswith("none: no earlier snapshot")
    ledger = snap2.providers().set_index("provider")
    under = {u["model_id"]: u for u in ledger.loc["Acme", "models_under_plan"]}
    assert "m-b" in under and under["m-b"]["battles"] == 0 and under["m-b"]["asked_battles"] > 10
    assert "m-a" not in under and under["m-b"]["p_value"] < 0.05
    detail = {m["model_id"]: m for m in snap2.manifest["providers"]["plan_comparison"]["models"]}
    plan = snap1.sampling_plan()
    planned = sorted(set(plan["model_left"]) | set(plan["model_right"]))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        n = conn.execute(
            "SELECT count(*) FROM (SELECT DISTINCT battle_id, model_left, model_right FROM votes_clean "
            "WHERE voted_at >= TIMESTAMPTZ '2026-06-01 00:00:00+00' AND voted_at < TIMESTAMPTZ '2026-07-01 00:00:00+00' "
            "AND list_contains(?, model_left) AND list_contains(?, model_right))",
            [planned, planned],
        ).fetchall()[0][0]
    for model in ("m-a", "m-b"):
        asked = plan.loc[(plan["model_left"] == model) | (plan["model_right"] == model), "weight"].sum()
        assert detail[model]["asked_battles"] == pytest.approx(n * asked, rel=1e-12)


def test_pre_release_model_is_provisional_on_every_board_and_a_bad_flag_makes_its_row_unusable(
    ledger_run, capsys
):
    """m-pre (pre_release `ｙｅｓ`, NFKC `yes`) has its 40 votes before release quarantined and fewer than
    1,000 counted votes after it: every row of it is provisional with pre_release_provisional and the reason;
    other models are not marked. m-bad's `maybe` is invalid_pre_release: its votes are unregistered.
    `showdown show` marks the row."""
    home, _, snap = ledger_run
    board = snap.leaderboard()
    pre = board[board["model_id"] == "m-pre"]
    assert len(pre) > 1 and pre["pre_release_provisional"].all() and pre["provisional"].all()
    assert pre["provisional_reason"].str.contains("pre-release model: ").all()
    assert not board.loc[board["model_id"] != "m-pre", "pre_release_provisional"].any()
    [status] = snap.manifest["providers"]["pre_release"]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        own = conn.execute(
            "SELECT count(*) FROM votes_counted WHERE 'm-pre' IN (model_left, model_right) "
            "AND voted_at >= TIMESTAMPTZ '2026-04-01 00:00:00+00' AND voted_at < TIMESTAMPTZ '2026-07-01 00:00:00+00'"
        ).fetchall()[0][0]
        problem = conn.execute("SELECT problem FROM model_registry WHERE model_id = 'm-bad'").fetchall()[0][0]
        reasons = dict(
            conn.execute(
                "SELECT reason, count(*) FROM votes_checked WHERE 'm-bad' IN (model_left, model_right) "
                "OR ('m-pre' IN (model_left, model_right) AND voted_at < TIMESTAMPTZ '2026-04-01 00:00:00+00') "
                "GROUP BY reason"
            ).fetchall()
        )
    assert status["votes_since_release"] == own and 0 < own < providers.PRE_RELEASE_MIN_VOTES
    assert problem == "invalid_pre_release"
    assert reasons == {"unregistered_model": 5, "model_not_active": 40}
    assert cli.main(["show", "--home", str(home)]) == 0
    assert any(
        line.rstrip().endswith("(pre-release)") and "m-pre" in line
        for line in capsys.readouterr().out.splitlines()
    )


def test_a_snapshot_without_its_providers_file_fails_verification(ledger_run, tmp_path):
    """Schema 5 requires providers.parquet: a manifest that does not list it, or a file that was changed,
    fails the verifier."""
    import shutil

    _, _, snap = ledger_run
    copy = tmp_path / snap.snapshot_id
    shutil.copytree(snap.path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["files"]["providers.parquet"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert any("providers.parquet is not listed" in p for p in snapshots.Snapshot(copy).verify())
    shutil.copytree(snap.path, tmp_path / "b")
    (tmp_path / "b" / "providers.parquet").write_bytes(b"changed")
    assert any("providers.parquet does not match" in p for p in snapshots.Snapshot(tmp_path / "b").verify())


# --- the pre-release boundary, on the real statement ------------------------------------------------------


def _warehouse(session, after: int, before: int) -> None:
    session.conn.execute(
        "CREATE TABLE model_registry AS SELECT * FROM (VALUES "
        "('m-pre', TIMESTAMPTZ '2026-04-01 00:00:00+00', true, NULL), "
        "('m-late', NULL::TIMESTAMPTZ, true, NULL), ('m-x', TIMESTAMPTZ '2026-01-01 00:00:00+00', false, NULL)) "
        "AS t(model_id, released_at, pre_release, problem)"
    )
    release = datetime(2026, 4, 1, tzinfo=UTC)
    rows = [
        ("m-pre", "m-x", release + timedelta(minutes=k)) for k in range(after)
    ]  # the first at the release
    rows += [("m-x", "m-pre", release - timedelta(seconds=1 + k)) for k in range(before)]
    rows += [
        ("m-pre", "m-x", None),
        ("m-pre", "m-x", datetime(2026, 7, 1, tzinfo=UTC)),
    ]  # undated; at the cut
    rows += [("m-late", "m-x", release)] * 3
    session.conn.register("votes_rows", pd.DataFrame(rows, columns=["model_left", "model_right", "voted_at"]))
    session.conn.execute("CREATE TABLE votes_counted AS SELECT * FROM votes_rows")
    _registry_history(session, [])


def _registry_history(session, marks: list[tuple[str, str, str, str]]) -> None:
    """landing_files and raw_models holding (file sha256, status, model_id, raw pre_release) rows."""
    session.conn.execute("CREATE TABLE landing_files (sha256 VARCHAR, kind VARCHAR, status VARCHAR)")
    session.conn.execute(
        "CREATE TABLE raw_models (source_sha256 VARCHAR, model_id VARCHAR, pre_release VARCHAR)"
    )
    for sha, status, model, raw in marks:
        session.conn.execute("INSERT INTO landing_files VALUES (?, 'models', ?)", [sha, status])
        session.conn.execute("INSERT INTO raw_models VALUES (?, ?, ?)", [sha, model, raw])


@pytest.mark.parametrize(("after", "provisional"), [(999, True), (1000, False)])
def test_pre_release_is_provisional_below_1000_votes_after_release_and_votes_before_it_do_not_count(
    after, provisional
):
    """999 counted votes at or after the release (plus 500 before it, one undated, one at the cut) leave a
    pre-release model provisional; the 1,000th makes it solid. A pre-release model with no release date has
    no votes since release."""
    with duckdb_session(":memory:") as session:
        _warehouse(session, after, before=500)
        status = {s["model_id"]: s for s in providers.pre_release_status(session, "2026-07-01T00:00:00Z")}
    assert set(status) == {"m-pre", "m-late"}
    assert status["m-pre"]["votes_since_release"] == after and status["m-pre"]["provisional"] is provisional
    assert status["m-late"]["votes_since_release"] == 0 and status["m-late"]["provisional"] is True


def test_pre_release_flag_spellings_are_normalised_like_the_other_booleans():
    """The registry's pre_release goes through normalise.flag: vote_schema's TRUE/FALSE words, NFKC and
    invisible characters; anything else is a problem (the row becomes invalid_pre_release)."""
    from showdown_pipeline.core import normalise

    decide = normalise.REGISTRY_FIELDS["pre_release"]
    assert [decide(v)[0] for v in ("yes", " Y ", "\uff59\uff45\uff53", "TRUE\u200b", "1")] == ["true"] * 5
    assert [decide(v)[0] for v in ("no", "F", "0")] == ["false"] * 3
    assert decide(None) == (None, None) and decide("maybe")[1] is not None


def test_a_pre_release_flag_dropped_or_flipped_by_a_later_models_csv_keeps_the_model_provisional(ledger_run):
    """The real pipeline: m-pre is marked `ｙｅｓ` and provisional (fewer than 1,000 votes since release). A new
    models.csv drops the pre_release column, another says `false`: m-pre was still shown before its release, so it
    stays pre-release and provisional, its reason saying an earlier models.csv marked it. (It used to become a
    plain model the moment a re-export lost the column.) Earlier raw values that are not `true` mark nothing."""
    import shutil

    from showdown_pipeline.core import registry
    from showdown_pipeline.core.normalise import build_model_registry

    home, _, _ = ledger_run
    for rows in (
        [r[:5] for r in MODELS_CSV],  # no pre_release column
        [(*r[:5], "false") for r in MODELS_CSV if r[0] != "m-bad"],
    ):
        copy = home.parent / f"flip-{len(rows[0])}.duckdb"
        shutil.copyfile(home / "warehouse.duckdb", copy)
        with duckdb_session(str(copy)) as session:
            in_force = "flip-" + str(len(rows[0]))
            session.conn.execute(
                "INSERT INTO landing_files BY NAME SELECT * REPLACE "
                "(? AS sha256, ingest_seq + 1000 AS ingest_seq, seen_seq + 1000 AS seen_seq) "
                "FROM landing_files WHERE kind = 'models' LIMIT 1",
                [in_force],
            )
            for k, r in enumerate(rows):
                session.conn.execute(
                    "INSERT INTO raw_models (source_sha256, source_row, model_id, display_name, provider, released_at, "
                    "deprecated_at, pre_release) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [in_force, k + 1, *(v or None for v in r[:5]), r[5] if len(r) > 5 else None],
                )
            build_model_registry(session, registry.registry_state(session).in_force_sha256)
            assert session.conn.execute(
                "SELECT pre_release, problem FROM model_registry WHERE model_id = 'm-pre'"
            ).fetchall() == [(False, None)]
            status = {
                s["model_id"]: s for s in providers.pre_release_status(session, f"{SECOND_CUT}T00:00:00Z")
            }
        assert set(status) == {"m-pre"}  # m-bad's `maybe`, m-b's `no`, m-c's `FALSE` mark nothing
        assert status["m-pre"]["provisional"] and status["m-pre"]["marked_in_force"] is False
        board = providers.mark_pre_release(
            pd.DataFrame({"model_id": ["m-pre", "m-a"], "provisional": False, "provisional_reason": None}),
            list(status.values()),
        )
        assert board["pre_release_provisional"].tolist() == [True, False]
        assert board.loc[0, "provisional_reason"].endswith("marked pre-release by an earlier models.csv)")


def test_only_a_true_pre_release_mark_of_an_ingested_models_csv_counts_as_an_earlier_mark():
    """On the real statements: `yes` in an ingested earlier file marks m-x (not pre-release in force); `yes` in a
    rejected file, `no` and `maybe` mark nothing."""
    with duckdb_session(":memory:") as session:
        _warehouse(session, 10, before=0)
        session.conn.execute("DROP TABLE landing_files; DROP TABLE raw_models")
        _registry_history(
            session,
            [
                ("f1", "ingested", "m-x", "yes"),
                ("f2", "rejected", "m-late", "no"),
                ("f3", "rejected", "m-y", "yes"),
            ],
        )
        session.conn.execute("INSERT INTO raw_models VALUES ('f1', 'm-z', 'maybe'), ('f1', 'm-w', 'no')")
        status = {s["model_id"]: s for s in providers.pre_release_status(session, "2026-07-01T00:00:00Z")}
    assert set(status) == {"m-pre", "m-late", "m-x"}
    assert status["m-x"]["marked_in_force"] is False and status["m-pre"]["marked_in_force"] is True
