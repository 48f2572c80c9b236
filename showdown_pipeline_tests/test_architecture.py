"""The architecture's rules, checked on the source: `defs/` only wires (no SQL text, no engine calls), every
Dagster object a `defs/` module defines reaches the loaded Definitions, building them does no I/O, and no
function in `core/` or `defs/` is longer than a reader can take in at once."""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

import showdown_pipeline
from showdown_pipeline import defs as defs_package

PACKAGE = Path(showdown_pipeline.__file__).resolve().parent
DEFS = PACKAGE / "defs"
MAX_FUNCTION_LINES = 80

# SQL text: a statement keyword opening the string in upper case (the house style of every sql/ file), a
# SELECT … FROM anywhere in it (a query glued from pieces), or a statement keyword in any case followed by
# SQL's structure (brackets, `*`, `$param`, `=`, WHERE, GROUP BY, VALUES, INTO, JOIN …), which prose lacks.
_KEYWORDS = (
    "select|insert|update|delete|create|drop|alter|merge|copy|attach|detach|pragma|begin|commit|rollback|"
    "describe|truncate|with|set"
)
_UPPER_START = re.compile(rf"^\s*({_KEYWORDS.upper()})\b")
_UPPER_SELECT_FROM = re.compile(r"\bSELECT\b[\s\S]+\bFROM\b")
_ANY_START = re.compile(rf"^\s*({_KEYWORDS})\b", re.IGNORECASE)
_STRUCTURE = re.compile(r"[(*$;=]|\b(where|group\s+by|order\s+by|values|into|table|join)\b", re.IGNORECASE)
# What only an engine connection or cursor offers: a step never reaches past the seam.
ENGINE_CALLS = {"execute", "sql", "fetchall", "fetchone", "fetchmany", "register", "unregister", "cursor"}
ENGINE_ATTRIBUTES = {"conn"}


def looks_like_sql(text: str) -> bool:
    if _UPPER_START.match(text) or _UPPER_SELECT_FROM.search(text):
        return True
    return bool(_ANY_START.match(text) and _STRUCTURE.search(text))


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _text_pieces(node: ast.AST) -> list[str]:
    """The literal text of a string constant, an f-string (placeholders as `x`) or a `+` of strings."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text_pieces(node.left), _text_pieces(node.right)
        return [a + " " + b for a in left or ["x"] for b in right or ["x"]] if left or right else []
    return []


def wiring_violations(source: str, name: str = "<source>") -> list[str]:
    """SQL text and engine calls in one module's source, as `name:line: what`."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in docstrings:
            continue
        for text in _text_pieces(node):
            if looks_like_sql(text):
                found.append(f"{name}:{node.lineno}: SQL text {text.strip()[:60]!r}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ENGINE_CALLS:
                found.append(f"{name}:{node.lineno}: calls .{node.func.attr}()")
        elif isinstance(node, ast.Attribute) and node.attr in ENGINE_ATTRIBUTES:
            found.append(f"{name}:{node.lineno}: reaches .{node.attr}")
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{name}:{node.lineno}: imports {m}" for m in modules if m.split(".")[0] == "duckdb"]
    return sorted(set(found))


def _defs_files() -> list[Path]:
    return sorted(DEFS.rglob("*.py"))


def test_the_sql_detector_catches_what_defs_used_to_hold_and_spares_prose():
    """The detector flags the shapes of SQL `defs/` held before the seam (plain, f-string, glued, a
    transaction) and engine calls, and leaves docstrings, messages and log lines alone."""
    held_before = """
def f(conn, table, columns):
    conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    conn.sql("SELECT " + ", ".join(columns) + " FROM votes_clean")
    conn.execute("INSERT INTO integrity_summary VALUES ($s)", {"s": 1})
    rows = conn.execute(
        "SELECT reason, count(*) FROM contributors_checked WHERE reason IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
    conn.execute("BEGIN TRANSACTION")
    text = "with recent as (select 1)"
    lower = "select count(*) from votes_clean where reason is null"
"""
    found = wiring_violations(held_before)
    assert {int(v.split(":")[1]) for v in found if "SQL text" in v} == {3, 4, 5, 7, 9, 10, 11}
    assert {"calls .execute()", "calls .sql()", "calls .fetchall()"} <= {v.split(": ", 1)[1] for v in found}
    prose = '''
"""Select the boards from the warehouse and publish them."""
def g(context, session):
    """Delete nothing: the selection from every board is kept."""
    context.log.info("select a licensee from the list")
    raise ValueError("update the landing zone, then run again")
    return session.rows("validate/vote_counts")
'''
    assert wiring_violations(prose) == []


@pytest.mark.parametrize("path", _defs_files(), ids=lambda p: str(p.relative_to(DEFS)))
def test_defs_hold_no_sql_text_and_never_reach_the_engine(path):
    """`defs/` only wires: every statement is a named file under sql/ run through the warehouse seam."""
    assert wiring_violations(path.read_text(encoding="utf-8"), path.name) == []


def _defs_modules() -> list:
    names = [m.name for m in pkgutil.walk_packages(defs_package.__path__, defs_package.__name__ + ".")]
    return [importlib.import_module(n) for n in sorted(names)]


def _dagster_objects(module) -> dict[str, object]:
    kinds = (
        dg.AssetsDefinition,
        dg.AssetChecksDefinition,
        dg.JobDefinition,
        dg.ScheduleDefinition,
        dg.SensorDefinition,
        dg.AssetSpec,
    )
    kinds = (*kinds, type(dg.define_asset_job("_probe")))
    found = {}
    for attr, value in vars(module).items():
        items = value if type(value) in (list, tuple) else [value]  # a dagster record is a tuple too
        for k, item in enumerate(items):
            if isinstance(item, kinds):
                found[f"{module.__name__}.{attr}[{k}]"] = item
    return found


def _loaded_names(loaded: dg.Definitions) -> set[str]:
    graph = loaded.resolve_asset_graph()
    names = {k.to_user_string() for k in graph.get_all_asset_keys()}
    names |= {f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys}
    names |= {j.name for j in loaded.jobs or []}
    names |= {s.name for s in [*(loaded.schedules or []), *(loaded.sensors or [])]}
    return names


def _names_of(item) -> set[str]:
    if isinstance(item, dg.AssetChecksDefinition):
        return {f"{k.asset_key.to_user_string()}:{k.name}" for k in item.check_keys}
    if isinstance(item, dg.AssetsDefinition):
        return {k.to_user_string() for k in item.keys}
    if isinstance(item, dg.AssetSpec):
        return {item.key.to_user_string()}
    return {item.name}


def test_every_dagster_object_a_defs_module_defines_is_loaded():
    """Adding an asset, check, job, schedule or sensor touches its stage folder only: whatever a module
    under defs/ defines reaches the Definitions Dagster's loader builds, and each stage folder declares
    its own `defs`."""
    from showdown_pipeline.definitions import build_definitions

    loaded = _loaded_names(build_definitions())
    defined = {name: item for module in _defs_modules() for name, item in _dagster_objects(module).items()}
    assert len(defined) > 20  # every op, spec, check, job, schedule and sensor of the stages
    missing = {
        name: sorted(_names_of(item) - loaded) for name, item in defined.items() if _names_of(item) - loaded
    }
    assert missing == {}
    for stage in ("ingest", "validate", "integrity", "ratings", "licensing", "publish"):
        modules = [m for m in _defs_modules() if m.__name__.startswith(f"{defs_package.__name__}.{stage}.")]
        assert any(isinstance(getattr(m, "defs", None), dg.Definitions) for m in modules), stage


def test_definitions_py_names_no_stage_and_builds_from_the_folder():
    """definitions.py imports no stage module: the stages load themselves."""
    tree = ast.parse((PACKAGE / "definitions.py").read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    stages = {"ingest", "validate", "integrity", "ratings", "licensing", "publish", "automation"}
    assert not {m for m in imported if set(m.split(".")) & stages}


def test_building_the_definitions_does_no_io(tmp_path):
    """Importing the definitions (what `dagster dev` and the webserver do) neither creates the home nor
    opens the warehouse nor judges its settings: a home that does not exist and a memory limit that is
    not one are left for a run to refuse."""
    home, landing = tmp_path / "home", tmp_path / "landing"
    env = {
        **os.environ,
        "SHOWDOWN_HOME": str(home),
        "SHOWDOWN_LANDING": str(landing),
        "SHOWDOWN_DUCKDB_MEMORY_LIMIT": "lots",
    }
    probe = (
        "from showdown_pipeline.definitions import defs\n"
        "graph = defs.resolve_asset_graph()\n"
        "defs.resolve_job_def('showdown_full_rebuild')\n"
        "print(len(graph.get_all_asset_keys()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 20
    assert not home.exists() and not landing.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _functions(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            yield node.name, start, node.end_lineno - start + 1


_SOURCES = sorted([*(PACKAGE / "core").rglob("*.py"), *DEFS.rglob("*.py")])


@pytest.mark.parametrize("path", _SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_function_is_longer_than_80_lines(path):
    """A function in core/ or defs/ fits on a screen or two (decorators and docstring included)."""
    long = [
        f"{name} (line {line}): {n} lines" for name, line, n in _functions(path) if n > MAX_FUNCTION_LINES
    ]
    assert long == []
