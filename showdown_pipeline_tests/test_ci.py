"""CI cannot pass by accident: lint runs before the tests, an empty test run fails, a browser that cannot be
installed fails the run loudly instead of skipping the browser tests (nor Java, the Spark tests), and a test that skips (at collection
too), xfails or xpasses fails the run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_install_script_fails_when_java_is_missing_and_cannot_be_installed(tmp_path):
    """A working chromium but no Java, not root: the Spark tests would fail, so the script fails first, naming
    Debian's package."""
    out = run_install_script(fake_bin(tmp_path / "bin", id="echo 1000", chromium="exit 0", apt_get="exit 0"))
    assert out.returncode != 0
    assert "openjdk-17-jre-headless is missing and cannot be installed here" in out.stderr


def test_install_script_installs_java_17_where_only_an_older_one_is_present(tmp_path):
    """Java 11 is too old for pyspark 4: as root, the script installs openjdk-17-jre-headless, and fails when
    what apt-get left still is not Java 17 or later."""
    calls = tmp_path / "apt-calls"
    fake = fake_bin(
        tmp_path / "bin",
        id="echo 0",
        chromium="exit 0",
        java="echo 'openjdk version \"11.0.2\" 2019-01-15' >&2",
        apt_get=f'echo "$@" >> {calls}; exit 0',
    )
    for tool in ("sed", "head"):
        (fake / tool).symlink_to(shutil.which(tool))
    out = run_install_script(fake)
    assert out.returncode != 0 and "openjdk-17-jre-headless was installed but does not start" in out.stderr
    assert "install -y -qq openjdk-17-jre-headless" in calls.read_text()


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


# --- conftest.py: nothing that proves nothing passes ---------------------------------------------------------

PROBES = {
    "xfail_marker": "import pytest\n\n@pytest.mark.xfail(reason='flaky')\ndef test_guarantee():\n    assert 1 + 1 == 3\n",
    "xfail_call": "import pytest\n\ndef test_guarantee():\n    pytest.xfail('later')\n",
    "xpass": "import pytest\n\n@pytest.mark.xfail(reason='flaky')\ndef test_guarantee():\n    assert 1 + 1 == 2\n",
    "importorskip": "import pytest\n\npytest.importorskip('a_module_not_installed_anywhere')\n\n"
    "def test_guarantee():\n    assert 1 + 1 == 3\n",
    "module_skip": "import pytest\n\npytest.skip('not today', allow_module_level=True)\n\n"
    "def test_guarantee():\n    assert 1 + 1 == 3\n",
    "fixture_skip": "import pytest\n\n@pytest.fixture\ndef browser():\n    pytest.skip('no browser')\n\n"
    "def test_guarantee(browser):\n    assert 1 + 1 == 3\n",
}


def _pytest_in_copy(tmp_path: Path, probes: dict[str, str]) -> subprocess.CompletedProcess:
    """pytest, with this repository's conftest.py and pytest settings, on a passing test plus `probes`."""
    tests = tmp_path / "repo" / "showdown_pipeline_tests"
    tests.mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", tests.parent / "pyproject.toml")
    for name in ("__init__.py", "conftest.py", "landing_builder.py"):
        shutil.copy(REPO / "showdown_pipeline_tests" / name, tests / name)
    (tests / "test_ok.py").write_text("def test_ok():\n    assert 2 > 1\n")
    for name, source in probes.items():
        (tests / f"test_probe_{name}.py").write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tests.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_run_of_passing_tests_passes_with_this_conftest(tmp_path):
    """The control for the test below: the copied repository's conftest lets a clean run pass."""
    run = _pytest_in_copy(tmp_path, {})
    assert run.returncode == 0, run.stdout[-1500:]


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_ci_fails_on_a_test_that_skips_xfails_or_xpasses(probe, tmp_path):
    """pytest exits 0 on an xfailed test (its assertion failed), an xpassed one, and a module skipped at
    collection (importorskip, allow_module_level), which the old conftest never saw (it counted skips in
    pytest_runtest_logreport only, and ignored any report with `wasxfail`): each of those passed CI (attack
    12). Now each fails the run and the summary names it."""
    run = _pytest_in_copy(tmp_path, {probe: PROBES[probe]})
    assert run.returncode == 1, run.stdout[-1500:]
    assert f"test_probe_{probe}.py" in run.stdout.split("and none may:")[-1], run.stdout[-1500:]
