"""Packaging: every third-party import is a declared dependency, `uv.lock` pins what `make` installs, and a
plain (non-editable) install of the package into a fresh virtualenv outside the repository runs the whole
pipeline: the SQL, the report templates and the reference data ship inside the wheel."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
UV = Path(sys.executable).parent / "uv"  # installed beside the interpreter by `make install`
LOCAL_MODULES = {"showdown_pipeline", "showdown_pipeline_tests", "_measure"}  # ours (bench/_measure.py)


def _requirement_name(spec: str) -> str:
    return re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0].lower().replace("_", "-")


def _third_party_imports(folder: Path) -> dict[str, str]:
    """Top-level module -> the first file importing it, for every import that is neither ours nor stdlib."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in LOCAL_MODULES and top != "__future__":
                    found.setdefault(top, path.relative_to(REPO).as_posix())
    return found


@pytest.mark.parametrize(
    ("folder", "groups"),
    [
        ("showdown_pipeline", ("dependencies", "spark")),
        ("showdown_pipeline_tests", ("dependencies", "dev", "spark")),
    ],
)
def test_every_third_party_import_is_a_declared_dependency(folder, groups):
    """A module the package (or its tests) imports must be a direct dependency in pyproject.toml, not
    something another package happens to pull in (pydantic was imported by every Config and declared
    nowhere). Each is pinned with `==`. The Spark engine's packages are the extra `spark` (`make install`
    installs it; the package imports them only when SHOWDOWN_ENGINE=spark)."""
    project = PYPROJECT["project"]
    declared_specs = [
        *(project["dependencies"] if "dependencies" in groups else ()),
        *(project["optional-dependencies"]["dev"] if "dev" in groups else ()),
        *(project["optional-dependencies"]["spark"] if "spark" in groups else ()),
    ]
    declared = {_requirement_name(spec) for spec in declared_specs}
    distributions = metadata.packages_distributions()
    undeclared = {
        module: where
        for module, where in _third_party_imports(REPO / folder).items()
        if not {d.lower().replace("_", "-") for d in distributions.get(module, [module])} & declared
    }
    assert undeclared == {}
    assert [s for s in declared_specs if "==" not in s] == []


def test_the_lock_pins_every_declared_dependency_at_its_declared_version():
    """uv.lock (what `make install` syncs, --locked) holds each direct dependency at the pyproject pin."""
    lock = tomllib.loads((REPO / "uv.lock").read_text(encoding="utf-8"))
    locked = {p["name"]: p.get("version") for p in lock["package"]}
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    for spec in [*project["dependencies"], *extras["dev"], *extras["spark"]]:
        name, version = _requirement_name(spec), spec.split("==")[1].split(";")[0].strip()
        assert locked.get(name) == version, spec
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "sync --locked" in makefile and " -e " not in makefile


def _copy_source(target: Path) -> Path:
    """What a fresh clone holds for the build: pyproject, README and the package (no caches, no tests)."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, target / name)
    shutil.copytree(
        REPO / "showdown_pipeline", target / "showdown_pipeline", ignore=shutil.ignore_patterns("__pycache__")
    )
    return target


def _run(args: list, cwd: Path, env: dict, timeout: int) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, f"{args[0]} {args[1]} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
    return out


@pytest.mark.slow
def test_a_wheel_install_outside_the_repo_runs_the_pipeline(tmp_path):
    """`uv pip install <source>` (not editable) into a fresh virtualenv outside the repository, at the versions
    uv.lock pins; then, from a folder outside the repository, `showdown demo-data` and `showdown run` publish a
    snapshot that verifies. Proves the wheel carries the SQL, the templates and the data files (and that the
    installed code, not this checkout, ran)."""
    assert UV.is_file(), f"uv not found at {UV}: run `make install`"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOWDOWN_", "PYTHON", "VIRTUAL_ENV"))}
    env |= {"DAGSTER_DISABLE_TELEMETRY": "1", "UV_PYTHON_DOWNLOADS": "never"}
    venv, work = tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    _run([UV, "venv", "--quiet", "--python", sys.executable, venv], work, env, 120)
    python = venv / "bin" / "python"
    pins = tmp_path / "requirements.txt"
    _run(
        [UV, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "--quiet", "-o", pins],
        REPO,
        env,
        120,
    )
    _run([UV, "pip", "install", "--quiet", "--python", python, "-r", pins], work, env, 600)
    _run(
        [UV, "pip", "install", "--quiet", "--no-deps", "--python", python, _copy_source(tmp_path / "src")],
        work,
        env,
        600,
    )

    where = _run(
        [python, "-c", "import showdown_pipeline as p; print(p.__file__)"], work, env, 60
    ).stdout.strip()
    assert Path(where).is_relative_to(venv) and not Path(where).is_relative_to(REPO)
    direct_url = next(
        (venv / "lib").glob("python3.*/site-packages/showdown_pipeline-*.dist-info/direct_url.json")
    )
    assert not json.loads(direct_url.read_text()).get("dir_info", {}).get("editable", False)

    showdown = venv / "bin" / "showdown"
    _run(
        [showdown, "demo-data", "--out", "landing", "--votes", "3000", "--days", "10", "--quiet"],
        work,
        env,
        300,
    )
    run = _run(
        [showdown, "run", "--landing", "landing", "--home", "home", "--as-of", "2026-11-01"], work, env, 900
    )
    assert "snapshot: " in run.stdout
    check = (
        "import json; from showdown_pipeline import snapshots; s = snapshots.latest('home'); b = s.leaderboard(); "
        "print(json.dumps({'id': s.snapshot_id, 'problems': s.verify(), 'rows': len(b), "
        "'boards': sorted(set(b['board'])), 'anchor': s.manifest['parameters']['anchor']['rating']}))"
    )
    published = json.loads(_run([python, "-c", check], work, env, 120).stdout)
    assert published["id"] == (work / "home" / "snapshots" / "LATEST").read_text().strip()
    assert (
        published["problems"] == [] and published["rows"] > 0 and {"raw", "style"} <= set(published["boards"])
    )
    assert published["anchor"] == 1000.0
    assert (work / "home" / "snapshots" / published["id"] / "index.html").stat().st_size > 10_000
