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
import pandas as pd
import pytest

from showdown_pipeline import settings, snapshots
from showdown_pipeline.core import breakers, lock
from showdown_pipeline.defs.partitions import landing_range_tags
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.landing_builder import write_jsonl

REPO = Path(__file__).resolve().parents[1]


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path(home)), read_only=True) as conn:
        return conn.execute(sql).fetchall()


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
