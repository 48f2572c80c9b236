"""Attack on the issue-12 fixes (review branch t-attack12): each test reproduces one defect found by a hostile
review and FAILS on the reviewed code. It asserts what the README's "Landing files", "Guarantees" and
"Ratings" sections promise; the docstring says what was observed instead.

These are reproductions for the lead, not regression tests of a fix: they are expected to fail until
the defect they name is fixed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from showdown_pipeline import settings, snapshots
from showdown_pipeline.core import breakers, landing, lock
from showdown_pipeline.core.staging import IngestLimits
from showdown_pipeline.definitions import ASSETS
from showdown_pipeline.defs.partitions import landing_range_tags
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.landing_builder import vote, write_jsonl

INGEST = next(a for a in ASSETS if dg.AssetKey("landing_files") in a.keys)
REPO = Path(__file__).resolve().parents[1]


def run_ingest(landing_root: Path, home: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [INGEST],
        resources=build_resources(landing_root, home),
        instance=dg.DagsterInstance.ephemeral(),
        tags=landing_range_tags(landing_root),
        raise_on_error=False,
    )


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path(home)), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def step_error(result: dg.ExecuteInProcessResult) -> str:
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return failures[0].step_failure_data.error.message.strip().splitlines()[-1] if failures else ""


# --- landing files ------------------------------------------------------------------------------------


def test_a_file_name_with_an_invalid_utf8_byte_does_not_stop_every_run(tmp_path):
    """Observed: `votes/x\\xff.jsonl` (a name a Windows/Latin-1 upstream writes easily) crashes the ingest step
    with `InvalidInputException: ... cannot encode str as UTF-8, surrogate '\\udcff'` when its ledger row is
    bound; the error names no file, and every later run fails the same way until someone renames it.
    Expected: the file is ingested or rejected with a reason, and the other files are read (README: "a file
    that cannot be read completely is rejected whole, with its error, and the run goes on")."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "good.jsonl", [vote(1)])
    bad = root / "votes" / os.fsdecode(b"latin-\xe9t\xe9.jsonl")
    write_jsonl(bad, [vote(2)])
    result = run_ingest(root, home)
    assert result.success, f"one odd file name stopped the ingest: {step_error(result)}"
    assert len(query(home, "SELECT * FROM landing_files")) == 2


@pytest.mark.parametrize(
    "payload",
    ["[" * 2_000 + "]" * 2_000, "1" * 5_000],
    ids=["2000-deep-nesting", "5000-digit-integer"],
)
def test_an_arena_json_array_that_python_json_cannot_decode_is_rejected_not_crashing_the_run(
    tmp_path, payload
):
    """Observed: staging splits `arena/*.json` arrays with `json.JSONDecoder.raw_decode` and catches only
    JSONDecodeError. An element nesting 2,000 arrays raises RecursionError; an element holding a 5,000-digit
    integer raises ValueError ("Exceeds the limit (4300 digits) for integer string conversion"). Either one
    (a 4-5 KB file) fails the ingest step, and every later run, while the file is there; the other files'
    rows are not read. (The same values in a `.jsonl` line are handled by DuckDB.)
    Expected: the file is rejected with its reason and the run goes on."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "good.jsonl", [vote(1)])
    (root / "arena").mkdir(parents=True)
    (root / "arena" / "odd.json").write_text(
        '[{"model_a": "a", "model_b": "b", "winner": "model_a", "x": ' + payload + "}]"
    )
    result = run_ingest(root, home)
    assert result.success, f"one arena file stopped the ingest: {step_error(result)}"
    statuses = dict(query(home, "SELECT path, status FROM landing_files"))
    assert statuses.get("votes/good.jsonl") == "ingested"
    assert "arena/odd.json" in statuses


def test_a_transient_warehouse_error_does_not_reject_a_file_forever(tmp_path, monkeypatch):
    """Observed: an out-of-memory error while loading a file (here SHOWDOWN_DUCKDB_MEMORY_LIMIT=16MB, a
    documented knob, and a file with a 40 MB line) is recorded as `rejected` under the file's content hash.
    Only `limit exceeded:` rejections are retried, so after the operator raises the memory limit the rerun
    reports the file `unchanged`/rejected and its rows are never read, until the bytes change.
    Expected: a failure of the warehouse (not of the file) leaves the file unrecorded, or is retried."""
    root, home = tmp_path / "landing", tmp_path / "home"
    big = {**vote(1), "pad": "x" * (40 << 20)}
    write_jsonl(root / "votes" / "big.jsonl", [big, vote(2)])
    monkeypatch.setenv("SHOWDOWN_DUCKDB_MEMORY_LIMIT", "16MB")
    first = run_ingest(root, home)
    assert first.success
    assert query(home, "SELECT status FROM landing_files") == [("rejected",)]
    monkeypatch.delenv("SHOWDOWN_DUCKDB_MEMORY_LIMIT")  # the operator gives the warehouse its memory back
    assert run_ingest(root, home).success
    assert query(home, "SELECT status, rows_in FROM landing_files") == [("ingested", 2)], (
        "the file stays rejected for an error of the warehouse, not of the file"
    )


def test_a_file_vanishing_between_hash_and_read_is_not_rejected_forever(tmp_path):
    """Observed: an upstream that replaces a file (delete, then write the same bytes again) while the ingest
    is between its first look (hash) and its read (stage) gets the content hash recorded as `rejected`
    ("cannot open: No such file or directory"); when the same bytes are there again, every later run says
    `unchanged` and never reads them. (The progress callback of `ingest_landing` marks that moment.)
    Expected: a file that could not be opened is not recorded under a content hash nobody read."""
    root, home = tmp_path / "landing", tmp_path / "home"
    path = write_jsonl(root / "votes" / "day.jsonl", [vote(1), vote(2)])
    content = path.read_bytes()
    place = landing.IngestPlace(root, home / ".staging", IngestLimits())
    home.mkdir()

    def upstream_replaces_the_file(event: str, rel_path: str) -> None:
        if event == "staging":
            path.unlink()

    with duckdb.connect(str(home / "w.duckdb")) as conn:
        files = landing.discover_landing_files(root)
        landing.ingest_landing(conn, files, "run-1", place, upstream_replaces_the_file)
        path.write_bytes(content)  # the same bytes are back
        outcomes, _ = landing.ingest_landing(conn, landing.discover_landing_files(root), "run-2", place)
        rows = conn.execute("SELECT count(*) FROM raw_votes").fetchall()[0][0]
    assert [(o.status, o.rows_in) for o in outcomes] == [("ingested", 2)], outcomes
    assert rows == 2


def test_a_parquet_column_named_p_does_not_replace_the_record(tmp_path):
    """Observed: `lines_from_parquet.sql` builds each record as `to_json(p)` over `read_parquet(...) AS p`; a
    file with a column named `p` makes `p` the column, not the row. With a struct column `p`, the ledger says
    `ingested 3` and raw_votes holds the struct's votes (v-100.., winner right, model_left `evil`) instead of
    the file's own rows (v-0.., winner left): other votes than the file's are counted, silently. (A string
    column `p` quarantines every row as `unparseable_line` with the column's value as the line.)
    Expected: the file's own top-level fields are its record."""
    root, home = tmp_path / "landing", tmp_path / "home"
    own = [vote(k) for k in range(3)]
    table = pa.Table.from_pylist(own)
    smuggled = pa.array([vote(100 + k, winner="right", model_left="evil") for k in range(3)])
    (root / "votes").mkdir(parents=True)
    pq.write_table(table.append_column("p", smuggled), root / "votes" / "export.parquet")
    assert run_ingest(root, home).success
    got = query(home, "SELECT vote_id, winner, model_left FROM raw_votes ORDER BY vote_id")
    assert got == [(f"v-{k}", "left", "m-a") for k in range(3)], got


def test_parquet_columns_differing_only_in_case_keep_the_canonical_field(tmp_path):
    """Observed: a Parquet file with columns `Winner` and `winner` is read by DuckDB with `winner` renamed to
    `winner_1`, so the record's `winner` is NULL (the row is quarantined for a missing winner). The same
    record as a JSON line reads winner `left` (json_transform is case-sensitive). Expected: one record reads
    the same whatever its format; the canonical lower-case column is the field."""
    root, home = tmp_path / "landing", tmp_path / "home"
    record = vote(1)
    columns = {k: [v] for k, v in record.items()}
    columns = {"Winner": ["right"], **columns}
    (root / "votes").mkdir(parents=True)
    pq.write_table(pa.table(columns), root / "votes" / "cased.parquet")
    write_jsonl(root / "votes" / "cased.jsonl", [{"Winner": "right", **vote(2)}])
    assert run_ingest(root, home).success
    winners = dict(query(home, "SELECT vote_id, winner FROM raw_votes"))
    assert winners == {"v-1": "left", "v-2": "left"}, winners


def test_a_folder_swapped_for_a_link_to_a_hidden_folder_is_not_read(tmp_path):
    """Observed (TOCTOU): `votes/sub/a.jsonl` is discovered as a regular file; before it is read, upstream
    swaps the folder `votes/sub` for a symlink to the hidden partial-upload folder `.partial/`. `open_literal`
    follows the folder link (O_NOFOLLOW covers only the last component) and its /proc check only asks that
    the file be inside the root, so the hidden partial upload is ingested (vote 666). Expected: hidden files
    are never read (README: "A path with any component starting with `.` is never read")."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "sub" / "a.jsonl", [vote(1)])
    write_jsonl(root / ".partial" / "a.jsonl", [vote(666, winner="right")])
    files = landing.discover_landing_files(root)
    shutil.rmtree(root / "votes" / "sub")
    os.symlink("../.partial", root / "votes" / "sub")
    home.mkdir()
    with duckdb.connect(str(home / "w.duckdb")) as conn:
        landing.ingest_landing(
            conn, files, "run", landing.IngestPlace(root, home / ".staging", IngestLimits())
        )
        ids = [r[0] for r in conn.execute("SELECT vote_id FROM raw_votes").fetchall()]
    assert "v-666" not in ids, "the hidden partial upload was read"


# --- one writer per home ------------------------------------------------------------------------------


def test_a_symlinked_lock_file_does_not_truncate_its_target(tmp_path):
    """Observed: `<home>/showdown.lock` is opened with O_RDWR|O_CREAT, following a symlink; `acquire`
    truncates it and writes its record, `release` truncates it again, so a lock file that is a link
    (planted by anyone who can write the home) empties the file it points to: `showdown export`/`run` on that
    home zeroes e.g. an operator's notes. Expected: the lock file is never followed (O_NOFOLLOW) or refused."""
    home = tmp_path / "home"
    home.mkdir()
    precious = tmp_path / "operator-notes.txt"
    precious.write_text("do not lose me\n")
    os.symlink(precious, home / lock.LOCK_FILE)
    try:
        lock.acquire(home)
    except (OSError, lock.HomeBusy):
        pass  # refusing a symlinked lock file is fine
    else:
        lock.release(home)
    assert precious.read_text() == "do not lose me\n"


# --- breakers -----------------------------------------------------------------------------------------


def _board(ratings: dict[str, float], votes: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {"model_id": list(ratings), "rating": list(ratings.values()), "votes": [votes[m] for m in ratings]}
    )


def test_a_model_that_lost_votes_cannot_move_without_tripping_the_movement_breaker():
    """Observed: `no_movement_without_new_votes` checks only models whose vote count is exactly unchanged
    (`votes == votes_before`). A model whose count FELL (integrity removed some of its votes, or history went
    missing) has no new votes, yet it may move any distance: on a 30-model board, the leader drops 300 Elo
    and 29 places with 1% of its votes gone (well under the 10% volume breaker); the others shift 10 Elo
    and one place on the centred scale, and the breaker passes. Expected: a model without new votes
    (votes <= votes_before) moving more than 20 Elo or 2 places trips the breaker."""
    names = [f"m{k:02d}" for k in range(30)]
    ratings = {m: 1300.0 - 10 * k for k, m in enumerate(names)}
    votes = dict.fromkeys(names, 1000)
    before = _board(ratings, votes)
    after = _board({**ratings, "m00": ratings["m29"] - 10}, {**votes, "m00": 990})
    verdict = breakers.no_movement_without_new_votes(after, before, breakers.BreakerThresholds())
    assert not verdict.passed, verdict.reason


# --- CI -----------------------------------------------------------------------------------------------


def _pytest_in_copy(tmp_path: Path, test_source: str) -> subprocess.CompletedProcess:
    """Run pytest, with this repository's conftest.py and pytest settings, on one extra test file."""
    copy = tmp_path / "repo"
    (copy / "showdown_pipeline_tests").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    shutil.copy(REPO / "showdown_pipeline_tests" / "__init__.py", copy / "showdown_pipeline_tests")
    for name in ("conftest.py", "landing_builder.py"):
        shutil.copy(REPO / "showdown_pipeline_tests" / name, copy / "showdown_pipeline_tests")
    (copy / "showdown_pipeline_tests" / "test_ok.py").write_text("def test_ok():\n    assert 2 > 1\n")
    (copy / "showdown_pipeline_tests" / "test_probe.py").write_text(textwrap.dedent(test_source))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ci_fails_when_a_test_is_marked_xfail(tmp_path):
    """Observed: conftest.py counts a skipped report only `if not hasattr(report, "wasxfail")`, and pytest
    reports a failing `@pytest.mark.xfail` (or `pytest.xfail()`) test as "xfailed" with exit 0: a test whose
    assertion fails passes `make test`/`.ci/run`. Expected (README "Development": nothing skips, a failing
    test fails CI): the run fails."""
    run = _pytest_in_copy(
        tmp_path,
        """
        import pytest

        @pytest.mark.xfail(reason="flaky")
        def test_the_guarantee():
            assert 1 + 1 == 3
        """,
    )
    assert run.returncode != 0, run.stdout[-600:]


def test_ci_fails_when_a_whole_module_skips_at_collection(tmp_path):
    """Observed: a module-level `pytest.skip(..., allow_module_level=True)` or `pytest.importorskip(...)` is
    reported at collection (pytest_collectreport), which conftest.py's `pytest_runtest_logreport` never sees:
    the module's tests are skipped, pytest says "1 skipped", and the exit status stays 0. Expected: the run
    fails (README: "a run in which any test skips fails")."""
    run = _pytest_in_copy(
        tmp_path,
        """
        import pytest

        pytest.importorskip("a_module_that_is_not_installed_anywhere")

        def test_the_guarantee():
            assert 1 + 1 == 3
        """,
    )
    assert run.returncode != 0, run.stdout[-600:]


# --- intervals ----------------------------------------------------------------------------------------


def _rate(tmp_path: Path, rows: list[tuple[str, str, str]], bootstrap: int) -> pd.DataFrame:
    votes = tmp_path / f"votes-{bootstrap}.csv"
    votes.write_text("model_a,model_b,winner\n" + "".join(f"{a},{b},{w}\n" for a, b, w in rows))
    out = tmp_path / f"board-{bootstrap}.parquet"
    run = subprocess.run(
        [sys.executable, "-m", "showdown_pipeline.cli", "rate", str(votes), "--bootstrap", str(bootstrap)]
        + ["--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-800:]
    return pd.read_parquet(out).set_index("model_id")


def test_three_tied_votes_do_not_give_a_zero_width_interval(tmp_path):
    """Observed: `showdown rate` on three votes, A vs B, all ties, prints A 1000.0 [1000.0, 1000.0] and
    B 1000.0 [1000.0, 1000.0], with the bootstrap (every resample holds only ties, so every replicate is 0)
    and with the sandwich (each tie's score residual ½ − σ(0) is 0, so the "meat" is 0): a 95% interval of
    zero width, i.e. certainty that two models are exactly equal, from three votes. The same holds for 60
    ties among three models. Expected: an interval that reflects three votes (the model-based variance,
    or at least the prior's), never zero width."""
    rows = [("A", "B", "tie")] * 3
    for bootstrap in (1000, 0):
        board = _rate(tmp_path, rows, bootstrap)
        width = board["ci_upper"] - board["ci_lower"]
        assert (width > 1.0).all(), f"bootstrap={bootstrap}: zero-width intervals from 3 votes:\n{board}"


def test_a_model_that_only_ties_is_not_more_certain_than_models_with_more_decisive_votes(tmp_path):
    """Observed: T tied all its 30 votes (15 with A, 15 with B); A, B, C have 60-75 votes each, a few
    hundred decisive. T's interval comes out about half as wide as A's (48 against 100 Elo with the
    bootstrap): its ties carry almost no resampling or score variance, so the model with the least
    information is published as the best measured. Expected: T's interval at least as wide as A's."""
    import random

    rng = random.Random(1)

    def games(a: str, b: str, n: int, tie: bool = False) -> list[tuple[str, str, str]]:
        return [(a, b, "tie" if tie else ("model_a" if rng.random() < 0.6 else "model_b")) for _ in range(n)]

    rows = games("A", "B", 30) + games("B", "C", 30) + games("A", "C", 30)
    rows += games("T", "A", 15, tie=True) + games("T", "B", 15, tie=True)
    board = _rate(tmp_path, rows, 1000)
    width = board["ci_upper"] - board["ci_lower"]
    assert width["T"] >= width["A"], f"T (30 ties) is narrower than A ({board['votes']['A']} votes):\n{board}"


# --- run cut: one snapshot, one state of the data -----------------------------------------------------


def test_a_publish_only_run_does_not_mix_boards_with_a_later_ingest(tmp_path):
    """Observed: run A (full, cut 2026-06-01) publishes. New votes land; run B (a UI launch, same cut) only
    ingests and validates them. Run C (publish only, same cut) is accepted: its boards, counted votes and
    breakers are A's (same cut key, so `ensure_same_cut` passes), but its manifest's input section is read
    from the ledger and validated tables as B left them. The snapshot says N more rows were read and are
    valid than its boards were fitted on, and no section says they are missing; `tables_from_runs` names A
    for every table. Expected: publish refuses (or the snapshot's accounting and boards describe one state)."""
    from showdown_pipeline.definitions import ASSET_CHECKS, REBUILD_ASSETS
    from showdown_pipeline_tests.conftest import cut_tags, materialize_pipeline
    from showdown_pipeline_tests.landing_builder import build_messy_landing, random_valid_votes

    root, home = build_messy_landing(tmp_path / "landing").root, tmp_path / "home"
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_pipeline(root, home, instance=instance).success
    before = snapshots.latest(home)
    write_jsonl(
        root / "votes" / "2026-03-05" / "late.jsonl",
        random_valid_votes(50_000, 400, ["m-a", "m-b", "m-c"], seed=9),
    )
    tags = {**landing_range_tags(root), **cut_tags("2026-06-01")}

    def partial(*keys: str) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [*REBUILD_ASSETS, *ASSET_CHECKS],
            selection=dg.AssetSelection.assets(*keys),
            resources=build_resources(root, home),
            instance=instance,
            tags=tags,
            raise_on_error=False,
        )

    assert partial("landing_files", "raw_votes", "raw_contributors", "raw_models").success
    validate_keys = [
        k.to_user_string() for a in REBUILD_ASSETS if a.node_def.name == "validated_votes" for k in a.keys
    ]
    assert partial(*validate_keys).success
    publish = partial("leaderboard_snapshot")
    latest = snapshots.latest(home)
    if not publish.success or latest.snapshot_id == before.snapshot_id:
        return  # refused: the defect is fixed
    manifest = latest.manifest
    board = latest.leaderboard()
    overall = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")]
    fitted_votes = int(overall["votes"].sum()) // 2  # each vote counts for two models
    assert manifest["input"]["valid"] == before.manifest["input"]["valid"], (
        f"snapshot {latest.snapshot_id}: input says {manifest['input']['valid']} valid rows "
        f"(A's snapshot: {before.manifest['input']['valid']}), its boards are A's ({fitted_votes} votes); "
        f"tables_from_runs: {manifest['run']['tables_from_runs']}"
    )


# --- the registry -------------------------------------------------------------------------------------


def test_reverting_models_csv_to_an_earlier_version_puts_that_version_in_force(tmp_path):
    """Observed: the registry in force is the ingested models.csv with the highest `ingest_seq`, and a file
    whose bytes the ledger knows is `unchanged` (no new `ingest_seq`). So when upstream reverts a bad
    models.csv (v2 deprecates m-b by mistake) to the exact bytes of v1, the revert is ignored: v2 stays in
    force, m-b stays deprecated, and nothing says the landing zone's models.csv is not the registry used.
    Expected: the models.csv in the landing zone is the registry in force (README: "the latest models.csv")."""
    from showdown_pipeline.definitions import REBUILD_ASSETS
    from showdown_pipeline_tests.landing_builder import write_models

    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "day.jsonl", [vote(1)])
    v1 = [("m-a", "A", "acme", "2025-01-01", None), ("m-b", "B", "acme", "2025-01-01", None)]
    v2 = [("m-a", "A", "acme", "2025-01-01", None), ("m-b", "B", "acme", "2025-01-01", "2025-06-01")]
    registry_asset = next(a for a in REBUILD_ASSETS if dg.AssetKey("model_registry") in a.keys)

    def deliver(rows) -> None:
        write_models(root / "models.csv", rows)
        result = dg.materialize(
            [INGEST, registry_asset],
            resources=build_resources(root, home),
            instance=dg.DagsterInstance.ephemeral(),
            tags=landing_range_tags(root),
        )
        assert result.success

    deliver(v1)
    deliver(v2)
    deliver(v1)  # the mistake is reverted upstream
    in_force = dict(query(home, "SELECT model_id, deprecated_at FROM model_registry"))
    assert in_force["m-b"] is None, f"v2 is still in force after the revert to v1: {in_force}"


# --- the ledger is keyed by content only --------------------------------------------------------------


def test_a_file_renamed_to_the_right_extension_is_read(tmp_path):
    """Observed: `votes/day.json` (an extension votes/ does not take) is rejected "unsupported file type" and
    that rejection is keyed by the file's sha256. When upstream fixes the name to `votes/day.jsonl`, the bytes
    are the same: every later run says `unchanged` (error still "unsupported file type ... day.json") and the
    votes are never read. Expected: a rejection for the name, not the bytes, does not outlive the name."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "day.json", [vote(1), vote(2)])
    assert run_ingest(root, home).success
    os.rename(root / "votes" / "day.json", root / "votes" / "day.jsonl")
    assert run_ingest(root, home).success
    assert query(home, "SELECT count(*) FROM raw_votes") == [(2,)]


def test_a_vote_file_moved_out_of_the_wrong_folder_is_read_as_votes(tmp_path):
    """Observed: a vote file first delivered into `contributors/` is ingested as contributor records (all
    invalid). When upstream moves it to `votes/`, its bytes are known: the run reports `votes/day.jsonl`
    as `unchanged` with 2 rows, yet raw_votes holds none of them and the vote accounting never lists the
    file: two votes silently missing. Expected: the ledger key includes the kind (or the move is reported)."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "contributors" / "day.jsonl", [vote(1), vote(2)])
    assert run_ingest(root, home).success
    (root / "votes").mkdir()
    os.rename(root / "contributors" / "day.jsonl", root / "votes" / "day.jsonl")
    assert run_ingest(root, home).success
    assert query(home, "SELECT count(*) FROM raw_votes") == [(2,)]


def test_an_earlier_cut_does_not_replace_latest_with_half_the_votes_unchecked(tmp_path):
    """Observed: LATEST holds a snapshot as of 2026-06-01 (~760 counted votes). A run with `--as-of 2026-04-01`
    (a typo, a backfill) counts ~380: `counted_votes_not_collapsed` passes because "cut ... is earlier than the
    latest snapshot's; counts not comparable", and `no_movement_without_new_votes` checks only models whose
    count is unchanged (every count fell). The snapshot is published and LATEST moves back two months with
    half the votes: no breaker tripped, no override asked for or recorded. Expected: a run whose cut is
    earlier than LATEST's does not move LATEST (or trips the volume breaker, overridable and recorded)."""
    from showdown_pipeline_tests.conftest import materialize_pipeline
    from showdown_pipeline_tests.landing_builder import random_valid_votes, write_models

    root, home = tmp_path / "landing", tmp_path / "home"
    models = ["m-a", "m-b", "m-c"]
    write_models(root / "models.csv", [(m, m, "acme", "2025-01-01", None) for m in models])
    write_jsonl(root / "votes" / "march.jsonl", random_valid_votes(0, 400, models, seed=1))
    write_jsonl(root / "votes" / "april.jsonl", random_valid_votes(60_000, 400, models, seed=2))  # ~Apr 12
    assert materialize_pipeline(root, home, as_of="2026-06-01").success
    before = snapshots.latest(home)
    assert before.manifest["data_cut"]["counted_before_cut"] > 700  # integrity may exclude a few
    materialize_pipeline(root, home, as_of="2026-04-01")
    latest = snapshots.latest(home)
    assert latest.snapshot_id == before.snapshot_id, (
        f"LATEST moved to a cut of {latest.manifest['data_cut']['as_of']} with "
        f"{latest.manifest['data_cut']['counted_before_cut']} counted votes; overrides: "
        f"{latest.manifest['breakers']['overrides']}"
    )


def test_showdown_rate_reads_the_file_it_is_given_not_a_glob_match(tmp_path):
    """Observed: `core/rate_file.py` hands the path to DuckDB's `read_csv`/`read_json`/`read_parquet`, which
    take globs: `showdown rate 'votes[1].csv'` checks that `votes[1].csv` exists, then rates `votes1.csv`
    (models P and Q) and prints its board as if it were the file asked for. Expected: the literal file is
    rated (models X and Y), as the landing ingest now does."""
    asked = tmp_path / "votes[1].csv"
    asked.write_text("model_a,model_b,winner\n" + "X,Y,model_a\nY,X,model_a\n" * 5)
    (tmp_path / "votes1.csv").write_text("model_a,model_b,winner\n" + "P,Q,model_a\nQ,P,model_b\n" * 4)
    out = tmp_path / "board.parquet"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "showdown_pipeline.cli",
            "rate",
            str(asked),
            "--bootstrap",
            "0",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-500:]
    assert set(pd.read_parquet(out)["model_id"]) == {"X", "Y"}, run.stdout[-600:]


# --- limits -------------------------------------------------------------------------------------------

_INGEST_AND_REPORT_PEAK = """
import resource, sys, duckdb
from pathlib import Path
from showdown_pipeline.core import landing
from showdown_pipeline.core.staging import IngestLimits
root, home = Path(sys.argv[1]), Path(sys.argv[2])
home.mkdir()
with duckdb.connect(str(home / "w.duckdb")) as conn:
    place = landing.IngestPlace(root, home / ".staging", IngestLimits.from_env())
    outcomes, _ = landing.ingest_landing(conn, landing.discover_landing_files(root), "run", place)
print(outcomes[0].status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def test_an_885_byte_parquet_file_cannot_take_gigabytes(tmp_path):
    """Observed: one row whose list column holds 12M zeros is an 885-byte Parquet file; its footer says 174
    bytes uncompressed (dictionary + RLE), so the footer check passes; `_check_decoded_size` then decodes the
    whole column chunk into memory to measure it (96 MB, far under the 16 GiB default), and DuckDB's
    `to_json` builds a 24 MB line: the ingest alone peaks at ~1.9 GB RSS (a process that ingests nothing:
    126 MB) and takes ~13 s, and the file is `ingested`. 30M zeros: 4.1 GB, 22 s, still ingested; 60M: 3.7 GB,
    rejected only by the line limit after DuckDB built the line. README (Guarantees): "a bomb is rejected
    quickly in bounded memory". Expected: memory bounded independently of the decoded size (a few hundred MB)."""
    root = tmp_path / "landing"
    (root / "votes").mkdir(parents=True)
    n = 12_000_000
    pad = pa.ListArray.from_arrays(pa.array([0, n], pa.int32()), pa.array(np.zeros(n, dtype=np.int64)))
    path = root / "votes" / "bomb.parquet"
    pq.write_table(pa.table({"vote_id": ["p1"], "pad": pad}), path, compression="zstd")
    assert path.stat().st_size < 4096
    run = subprocess.run(
        [sys.executable, "-c", _INGEST_AND_REPORT_PEAK, str(root), str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-800:]
    status, peak_mib = run.stdout.split()[-2:]
    assert int(peak_mib) < 800, f"a {path.stat().st_size}-byte file: status {status}, peak RSS {peak_mib} MiB"


# --- crash windows ------------------------------------------------------------------------------------

SECRET = "Zq3v9LrT1xW8pB2nK7mD4sF6hJ0cY5gA"
_EXPORT_KILLED_AFTER_RENAME = """
import os, signal, sys
from showdown_pipeline import cli
from showdown_pipeline.core import licensing
original = licensing.publish_export
def publish_then_die(staging, final):
    original(staging, final)
    os.kill(os.getpid(), signal.SIGKILL)  # the process dies here, as a kill -9 or a power cut would
licensing.publish_export = publish_then_die
sys.exit(cli.main(sys.argv[1:]))
"""


def _home_with_a_killed_export(tmp_path: Path) -> tuple[Path, Path, dict, list[str]]:
    """A home whose `showdown export` was killed -9 right after the rename that publishes it."""
    from showdown_pipeline_tests.landing_builder import build_messy_landing

    root, home = build_messy_landing(tmp_path / "landing").root, tmp_path / "home"
    env = {**os.environ, "SHOWDOWN_LICENSE_KEY": SECRET}
    run = [sys.executable, "-m", "showdown_pipeline.cli", "run", "--landing", str(root), "--home", str(home)]
    first = subprocess.run(
        [*run, "--as-of", "2026-06-01"], capture_output=True, text=True, env=env, timeout=600
    )
    assert first.returncode == 0, first.stderr[-800:]
    export = [
        "export",
        "--licensee",
        "acme",
        "--as-of",
        "2026-06-01",
        "--home",
        str(home),
        "--landing",
        str(root),
    ]
    killed = subprocess.run(
        [sys.executable, "-c", _EXPORT_KILLED_AFTER_RENAME, *export],
        capture_output=True,
        env=env,
        timeout=600,
    )
    assert killed.returncode == -9
    assert (home / "exports" / "acme" / "2026-06-01" / "votes.parquet").is_file()  # it was published
    return root, home, env, export


def test_a_killed_export_does_not_hang_the_next_export_forever(tmp_path):
    """Observed: after a `showdown export` is killed -9 while its step holds the warehouse pool slot, the next
    `showdown export` on that home never ends: it spins in dagster's `concurrency_event_iterator` (3 CPU
    minutes in 3 minutes, gdb py-bt) waiting for the dead run's slot, and SIGTERM (`timeout 120`) does not
    stop it. `showdown run` frees dead runs' slots before it executes (`free_stale_pool_claims`);
    `export_licensed` does not, and the warehouse resource frees them only once a step holds a slot, which
    it never gets, because under `showdown export` the CLI took the lock first and the resource's acquire is
    not `fresh`. (A later `showdown run` unblocks it.) The same hang follows a `showdown run` killed at its
    overall_ratings step (reproduced by hand: the export still waiting after 240 s). Expected: the next
    export runs (or fails in one line) within a few minutes."""
    _, home, env, export = _home_with_a_killed_export(tmp_path)
    try:
        rerun = subprocess.run(
            [sys.executable, "-m", "showdown_pipeline.cli", *export],
            capture_output=True,
            text=True,
            env=env,
            timeout=240,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the export after a killed export was still waiting after 240 s (dead run's pool slot)")
    assert rerun.returncode in (0, 2), rerun.stderr[-500:]


def test_an_export_killed_after_its_rename_is_audited_after_the_rerun(tmp_path):
    """Observed: `licensed_export` renames the verified export into `exports/<licensee>/<as_of>/` and only
    then appends its `export_audit` row, in a separate statement. A kill -9 between the two leaves a
    published export without an audit row; once the home is usable again (a `showdown run` frees the dead
    run's pool slot), the export's rerun is refused ("already published at ..."), so the audit of who
    received which votes can never be completed: the export is on disk, `export_audit` does not exist.
    Expected (Guarantees: "a killed run leaves nothing a rerun cannot repair"): after a rerun, every
    published export has its audit row."""
    root, home, env, export = _home_with_a_killed_export(tmp_path)
    cli_run = [sys.executable, "-m", "showdown_pipeline.cli"]
    unblock = [*cli_run, "run", "--landing", str(root), "--home", str(home), "--as-of", "2026-06-01"]
    assert subprocess.run(unblock, capture_output=True, env=env, timeout=600).returncode == 0
    rerun = subprocess.run([*cli_run, *export], capture_output=True, text=True, env=env, timeout=600)
    tables = {r[0] for r in query(home, "SELECT table_name FROM duckdb_tables()")}
    audited = query(home, "SELECT count(*) FROM export_audit")[0][0] if "export_audit" in tables else 0
    assert audited == 1, (
        f"a published export with {audited} audit rows; the rerun: {rerun.stderr.strip()[-300:]}"
    )
