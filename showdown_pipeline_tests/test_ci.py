"""CI cannot pass by accident: lint runs before the tests, an empty test run fails, and a browser that
cannot be installed fails the run loudly instead of skipping the browser tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash")


def fake_bin(folder: Path, **commands: str) -> Path:
    """A PATH holding only the given commands (name -> shell body)."""
    folder.mkdir()
    for name, body in commands.items():
        path = folder / name.replace("_", "-")
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return folder


def run_install_script(path_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BASH, str(REPO / ".ci" / "install-test-deps.sh")],
        env={"PATH": str(path_dir)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_install_script_fails_when_chromium_is_missing_and_cannot_be_installed(tmp_path):
    """No chromium, not root: the script exits non-zero and says why (it used to exit 0 and let the
    browser tests skip)."""
    out = run_install_script(fake_bin(tmp_path / "bin", id="echo 1000", apt_get="exit 0"))
    assert out.returncode != 0
    assert "chromium is missing and cannot be installed here" in out.stderr


def test_install_script_fails_when_apt_fails(tmp_path):
    """As root, with apt-get failing: non-zero exit and the failing step named."""
    calls = tmp_path / "apt-calls"
    out = run_install_script(
        fake_bin(
            tmp_path / "bin", id="echo 0", apt_get=f'echo "$@" >> {calls}; echo "E: no network" >&2; exit 100'
        )
    )
    assert out.returncode != 0
    assert "apt-get update failed" in out.stderr and "E: no network" in out.stderr
    assert calls.read_text().split() == ["update", "-qq"]


def test_install_script_fails_when_the_installed_chromium_does_not_start(tmp_path):
    """apt-get 'succeeds' but leaves no working chromium: still a failure, not a silent skip later."""
    out = run_install_script(fake_bin(tmp_path / "bin", id="echo 0", apt_get="exit 0"))
    assert out.returncode != 0 and "does not start" in out.stderr


def test_ci_runs_lint_then_tests_and_stops_at_a_lint_failure(tmp_path):
    """`.ci/run` calls `make lint` and then `make test`; a failed lint stops it before the tests."""
    log = tmp_path / "make-calls"
    for lint_status, expected in ((0, ["lint", "test"]), (1, ["lint"])):
        log.unlink(missing_ok=True)
        fake = fake_bin(
            tmp_path / f"bin{lint_status}",
            make=f'echo "$@" >> {log}; if [ "$1" = lint ]; then exit {lint_status}; fi; exit 0',
        )
        out = subprocess.run(
            [BASH, str(REPO / ".ci" / "run")],
            env={"PATH": f"{fake}:/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert log.read_text().split() == expected
        assert (out.returncode == 0) == (lint_status == 0)


def test_make_test_fails_when_pytest_collects_no_test(tmp_path):
    """pytest's exit 5 (no tests ran) is a failure of `make test`, not a success."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "PYTEST_ADDOPTS": "-p no:cacheprovider -k no_test_is_called_this showdown_pipeline_tests/test_fixtures.py",
    }
    out = subprocess.run(
        ["make", "-o", ".venv/.installed", "test"],  # -o: never reinstall from inside a test
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode != 0
    assert "deselected" in out.stdout and "Error 5" in out.stderr, out.stdout[-2000:] + out.stderr[-2000:]
