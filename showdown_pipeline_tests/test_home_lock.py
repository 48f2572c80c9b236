"""One writer per home: the lock refuses a second writer in one line naming the holder, a dead holder's lock
is taken over, runs from the UI/schedule respect it, and the Dagster instance limits the warehouse pool."""

from __future__ import annotations

import json
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


# --- the lock file itself ----------------------------------------------------------------------------------


def _planted(home: Path, kind: str, target: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    if kind == "symlink":
        os.symlink(target, home / lock.LOCK_FILE)
    elif kind == "dangling symlink":
        os.symlink(target.with_name("nowhere"), home / lock.LOCK_FILE)
    elif kind == "hard link":
        os.link(target, home / lock.LOCK_FILE)
    else:
        os.mkfifo(home / lock.LOCK_FILE)


@pytest.mark.parametrize("kind", ["symlink", "dangling symlink", "hard link", "fifo"])
def test_a_planted_lock_file_is_refused_in_one_line_and_its_target_never_written(kind, tmp_path, capsys):
    """Anyone who can write the home may plant `showdown.lock` as a link to another file. The lock used to
    open it following the link and truncate it (acquire and release), emptying e.g. an operator's notes
    (attack 12); a dangling link created a file wherever it pointed. Now the lock file is opened with
    O_NOFOLLOW, must be a regular file with one link, and is refused in one line otherwise; the CLI too."""
    home, precious = tmp_path / "home", tmp_path / "operator-notes.txt"
    precious.write_text("do not lose me\n")
    _planted(home, kind, precious)
    with pytest.raises(lock.UnsafeLockFile) as refused:
        lock.acquire(home, "test")
    message = str(refused.value)
    assert "\n" not in message and "refusing the lock file" in message and "showdown.lock" in message
    assert not lock.holds(home) and lock.read_holder(home) is None
    code = cli.main(["export", "--licensee", "acme", "--home", str(home)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "refusing the lock file" in err[0], err
    assert precious.read_text() == "do not lose me\n"
    assert not precious.with_name("nowhere").exists()  # a dangling link's target is never created
    assert sorted(p.name for p in home.iterdir()) == [lock.LOCK_FILE]  # nothing else touched


_PROBE_TAKEOVER = """
import os, socket, sys
from showdown_pipeline.core import lock
if os.geteuid() == 0:
    os.setresgid(65534, 65534, 65534)
    os.setresuid(65534, 65534, 65534)  # nobody: pid 1 (root's) now answers EPERM, as another user's would
try:
    os.kill(1, 0)
    print("signal ok")
except PermissionError:
    print("EPERM")
print(lock.describe_takeover(lock.Holder(1, socket.gethostname(), "2026-01-01T00:00:00Z", "showdown run")))
"""


def test_a_takeover_says_gone_only_for_a_pid_that_is_gone(tmp_path):
    """The takeover message used to say "which is gone" of any stale record. A record naming a live pid
    (reused by another process, or owned by another user: signal 0 answers EPERM, which means alive) must
    not be called gone; a record from another host cannot be probed at all."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    said = {
        pid: lock.describe_takeover(lock.Holder(pid, host, "2026-01-01T00:00:00Z", "showdown run"))
        for pid in (dead.pid, os.getpid())
    }
    assert said[dead.pid].endswith(f"pid {dead.pid} is gone")
    assert "gone" not in said[os.getpid()] and f"pid {os.getpid()} is alive" in said[os.getpid()]
    other = lock.describe_takeover(lock.Holder(dead.pid, "another-host", "2026-01-01T00:00:00Z", "x"))
    assert "gone" not in other and "host another-host" in other
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE_TAKEOVER], capture_output=True, text=True, timeout=60
    )
    assert probe.returncode == 0, probe.stderr[-800:]
    answer, message = probe.stdout.strip().splitlines()
    assert answer == "EPERM" and "pid 1 is alive" in message and "gone" not in message, probe.stdout


def test_a_stale_record_of_a_live_pid_is_taken_over_without_calling_it_gone(tmp_path):
    """The lock file names a live process that does not hold the flock (its record left behind): the next
    holder takes the lock over and says the pid is alive, in one line, through the CLI's path too."""
    home = tmp_path / "home"
    home.mkdir()
    record = {"pid": 1, "host": socket.gethostname(), "started_at": "2026-01-01T00:00:00Z", "command": "x"}
    (home / lock.LOCK_FILE).write_text(json.dumps(record))
    acquired = lock.acquire(home, "next")
    try:
        assert acquired.fresh and acquired.stale.pid == 1
        message = lock.describe_takeover(acquired.stale)
        assert "pid 1 is alive" in message and "gone" not in message and "\n" not in message
    finally:
        lock.release(home)


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_a_home_path_with_glob_characters_works_and_one_dagster_misreads_is_refused(tmp_path):
    """`[`, `*` and spaces in the home path work (a full `showdown run`, its snapshot inside the home, no
    file outside it). `?` used to make Dagster's SQLite run storage (an unescaped `sqlite:///<path>` URL)
    write its database OUTSIDE the home, at the path cut before the `?`, then crash; `%` crashed it. Both
    are now refused in one line before anything is created."""
    landing = build_messy_landing(tmp_path / "landing").root
    before = _tree(tmp_path)
    for name in ("we?ird home", "per%41cent"):
        home = tmp_path / name
        proc = _showdown("run", "--landing", str(landing), "--home", str(home), "--as-of", "2026-06-01")
        stdout, stderr = proc.communicate(timeout=300)
        err = stderr.strip().splitlines()
        assert proc.returncode == 2 and len(err) == 1 and "choose a path without" in err[0], stderr[-800:]
        assert _tree(tmp_path) == before, "something was written for a refused home"
    home = tmp_path / "glob [1] * home"
    proc = _showdown("run", "--landing", str(landing), "--home", str(home), "--as-of", "2026-06-01")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-2000:]
    assert f"snapshot: {home}/snapshots/2026-06-01_" in stdout
    outside = {p for p in _tree(tmp_path) - before if not p.startswith(home.name)}
    assert outside == set(), f"written outside the home: {sorted(outside)}"
    assert (home / "warehouse.duckdb").is_file() and (home / "dagster" / "history" / "runs.db").is_file()
