"""One writer per home: the lock refuses a second writer in one line naming the holder, a dead holder's lock
is taken over, runs from the UI/schedule respect it, and the Dagster instance limits the warehouse pool."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from showdown_pipeline import cli, settings, snapshots
from showdown_pipeline.core import lock
from showdown_pipeline.defs.resources import WAREHOUSE_POOL
from showdown_pipeline_tests.conftest import TEST_SECRET, materialize_pipeline
from showdown_pipeline_tests.landing_builder import build_messy_landing

HOLD = "import sys, time; from showdown_pipeline.core import lock; lock.acquire(sys.argv[1], sys.argv[2]); print('held', flush=True); time.sleep(600)"


def _hold(home: Path, command: str) -> subprocess.Popen:
    """Another process holding the home's lock (until killed)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home), command], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def _showdown(*argv: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "showdown_pipeline.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_process_is_refused_in_one_line_naming_the_holder(tmp_path):
    home = tmp_path / "home"
    holder = _hold(home, "showdown run --landing 'odd\nname'")
    try:
        with pytest.raises(lock.HomeBusy) as refused:
            lock.acquire(home, "second")
        message = str(refused.value)
        assert f"pid {holder.pid} on {socket.gethostname()} since 20" in message
        assert "showdown run --landing 'odd\\nname'" in message and "\n" not in message
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_reentrant_in_one_process_and_released_by_the_last_release(tmp_path):
    home = tmp_path / "home"
    first = lock.acquire(home, "outer")
    second = lock.acquire(home, "inner")
    assert first.fresh and not second.fresh and lock.holds(home)
    lock.release(home)
    assert lock.holds(home) and lock.read_holder(home).command == "outer"
    lock.release(home)
    assert not lock.holds(home) and lock.read_holder(home) is None  # a clean release leaves no record
    probe = subprocess.run([sys.executable, "-c", HOLD.replace("time.sleep(600)", "pass"), str(home), "x"])
    assert probe.returncode == 0  # another process can take it now


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    home = tmp_path / "home"
    holder = _hold(home, "showdown run (killed)")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert lock.read_holder(home).pid == holder.pid  # the dead holder's record is still in the file
    acquired = lock.acquire(home, "next")
    try:
        assert acquired.fresh and acquired.stale.pid == holder.pid
        assert acquired.stale.command == "showdown run (killed)"
        assert lock.read_holder(home).pid == os.getpid()
    finally:
        lock.release(home)


def test_a_run_launched_like_the_ui_or_the_schedule_respects_the_lock(tmp_path):
    """Runs that do not come from `showdown run` take the lock in their warehouse resource."""
    landing = build_messy_landing(tmp_path / "landing").root
    holder = _hold(tmp_path / "home", "showdown run (elsewhere)")
    try:
        result = materialize_pipeline(landing, tmp_path / "home")
    finally:
        holder.kill()
        holder.wait()
    assert not result.success
    assert f"in use by pid {holder.pid} on " in cli.failure_reason(result)
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()
    assert materialize_pipeline(landing, tmp_path / "home").success  # holder gone: the next run goes


def _race(landing: Path, home: Path) -> dict[str, subprocess.CompletedProcess]:
    """Two `showdown run`s started together on one home, with different cuts."""
    procs = {
        cut: _showdown("run", "--landing", str(landing), "--home", str(home), "--as-of", cut)
        for cut in ("2026-06-01", "2026-05-01")
    }
    out = {}
    for cut, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        out[cut] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return out


def _one_won(results, home: Path, before: set[str]) -> None:
    codes = sorted(r.returncode for r in results.values())
    assert codes == [0, 2], {c: (r.returncode, r.stderr[-1500:]) for c, r in results.items()}
    (winner,) = [c for c, r in results.items() if r.returncode == 0]
    (loser,) = [r for r in results.values() if r.returncode == 2]
    err = loser.stderr.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in loser.stderr
    assert err[0].startswith(f"showdown: home {home} is in use by pid ") and " --as-of " in err[0]
    new = {s.snapshot_id for s in snapshots.list_all(home)} - before
    assert len(new) == 1
    manifest = snapshots.by_id(new.pop(), home).manifest
    assert manifest["data_cut"]["as_of"] == winner and manifest["run"]["as_of"] == winner
    assert manifest["integrity"]["as_of"] == winner


def test_two_runs_at_once_on_a_used_home_one_publishes_its_own_cut(tmp_path):
    landing = build_messy_landing(tmp_path / "landing").root
    home = tmp_path / "home"
    assert materialize_pipeline(landing, home).success
    before = {s.snapshot_id for s in snapshots.list_all(home)}
    _one_won(_race(landing, home), home, before)


def test_two_first_runs_at_once_on_a_brand_new_home(tmp_path):
    landing = build_messy_landing(tmp_path / "landing").root
    home = tmp_path / "new-home"
    _one_won(_race(landing, home), home, set())


def test_cli_run_takes_over_a_stale_lock_and_says_so(tmp_path):
    landing = build_messy_landing(tmp_path / "landing").root
    home = tmp_path / "home"
    holder = _hold(home, "showdown run (killed)")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    proc = _showdown("run", "--landing", str(landing), "--home", str(home), "--as-of", "2026-06-01")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-2000:]
    assert f"took over the lock left by pid {holder.pid}" in stderr and "snapshot: " in stdout
    assert lock.read_holder(home) is None


# --- the Dagster pool ------------------------------------------------------------------------------------


def _instance_pool_limit(dagster_home: Path) -> tuple[int | None, int | None]:
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        storage = instance.event_log_storage
        return storage.get_pool_config().default_pool_limit, storage.get_concurrency_info(
            WAREHOUSE_POOL
        ).limit


def test_the_instance_of_a_home_limits_the_warehouse_pool_to_one(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))  # _prepare_dagster_home sets it; keep the test's own
    dagster_home = cli._prepare_dagster_home(tmp_path / "home")
    assert _instance_pool_limit(dagster_home) == (1, 1)
    config = yaml.safe_load((dagster_home / "dagster.yaml").read_text())
    assert config == {"telemetry": {"enabled": False}, "concurrency": {"pools": {"default_limit": 1}}}


@pytest.mark.parametrize(
    "existing",
    [
        "telemetry:\n  enabled: false\n",  # what `make ui` and `showdown run` wrote before
        "# an operator's settings\nrun_retries:\n  enabled: true\n  max_retries: 2\nconcurrency:\n  pools:\n    default_limit: 4\n",
        "",
    ],
)
def test_an_existing_dagster_yaml_gets_the_pool_limit_and_keeps_the_rest(existing, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    dagster_home = settings.dagster_home(tmp_path / "home")
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text(existing)
    assert _instance_pool_limit(dagster_home)[1] != 1  # before: the pool limits nothing (or four)
    cli._prepare_dagster_home(tmp_path / "home")
    assert _instance_pool_limit(dagster_home) == (1, 1)
    config = yaml.safe_load((dagster_home / "dagster.yaml").read_text())
    before = yaml.safe_load(existing) or {"telemetry": {"enabled": False}}
    assert {k: v for k, v in config.items() if k != "concurrency"} == {
        k: v for k, v in before.items() if k != "concurrency"
    }


def test_make_ui_writes_the_pool_limit(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "showdown_pipeline.cli", "dagster-home", "--home", str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(settings.dagster_home((tmp_path / "home").resolve()))
    assert _instance_pool_limit(Path(out.stdout.strip())) == (1, 1)
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    assert "showdown dagster-home --home $(HOME_DIR)" in makefile


def test_a_pool_slot_left_by_a_killed_run_does_not_block_the_next_run(tmp_path):
    """A run killed inside a warehouse step leaves its pool slot claimed; with a limit of one, the next run
    would wait for it forever. The next holder of the home's lock frees it and marks the dead run failed."""
    landing = build_messy_landing(tmp_path / "landing").root
    home = tmp_path / "home"
    dagster_home = settings.dagster_home(home)
    settings.write_dagster_config(dagster_home)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
        claim = storage.claim_concurrency_slot(WAREHOUSE_POOL, "dead-run-0000", "landing_zone_ingest")
        assert claim.is_claimed and storage.get_concurrency_info(WAREHOUSE_POOL).active_slot_count == 1
    proc = _showdown("run", "--landing", str(landing), "--home", str(home), "--as-of", "2026-06-01")
    try:
        stdout, stderr = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the run waited for the dead run's pool slot")
    assert proc.returncode == 0, stderr[-2000:]
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        assert info.active_slot_count == 0 and info.limit == 1


def test_export_takes_the_lock_before_touching_the_home(tmp_path, monkeypatch, capsys):
    holder = _hold(tmp_path / "home", "showdown run (busy)")
    try:
        monkeypatch.setenv("SHOWDOWN_LICENSE_KEY", TEST_SECRET)
        start = time.time()
        code = cli.main(["export", "--licensee", "acme", "--home", str(tmp_path / "home")])
        assert code == 2 and time.time() - start < 30
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"in use by pid {holder.pid}" in err[0]
    finally:
        holder.kill()
        holder.wait()
    assert not (tmp_path / "home" / "dagster").exists()
