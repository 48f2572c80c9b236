"""A built home for the benchmarks that time one step over a warehouse (bench_step.py, bench_gx_suite.py): the
home given (`--home`) or built from a demo world (`--votes`), its warehouse copied into a scratch folder that
the step may write (the home never is), and the CPU time a child spends on the step."""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def add_home_arguments(parser: argparse.ArgumentParser) -> None:
    """--home, --work and --votes, as `run_on_home` and `warehouse_copy` read them."""
    parser.add_argument("--home", type=Path, help="a built home (its warehouse is copied, never written)")
    parser.add_argument(
        "--work", type=Path, help="where the copy goes (default: a temporary folder beside the home)"
    )
    parser.add_argument("--votes", type=int, default=1_000_000, help="the demo world built without --home")


def run_on_home(args: argparse.Namespace, measure: Callable[[argparse.Namespace], None], prefix: str) -> None:
    """`measure(args)` on --home, or on a home built first (`built_home`) in a temporary folder."""
    if args.home is not None:
        measure(args)
        return
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-home-") as built:
        args.home = built_home(Path(built), args.votes)
        measure(args)


def built_home(folder: Path, votes: int) -> Path:
    """A home built by `showdown run` over a demo world of `votes` votes (the 30 days before 2026-11-01)."""
    showdown = str(Path(sys.executable).with_name("showdown"))
    landing, home = folder / "landing", folder / "home"
    world = ["demo-data", "--quiet", "--out", str(landing), "--votes", str(votes), "--days", "30"]
    subprocess.run([showdown, *world, "--end", "2026-11-01"], check=True)
    subprocess.run(
        [showdown, "run", "--landing", str(landing), "--home", str(home), "--as-of", "2026-11-01"], check=True
    )
    return home


@contextmanager
def warehouse_copy(args: argparse.Namespace, prefix: str, keep: bool = False) -> Iterator[Path]:
    """A folder (under --work, else beside the home) holding a copy of the home's warehouse.duckdb; removed
    afterwards unless `keep` (then its path is printed)."""
    source = args.home / "warehouse.duckdb"
    if not source.is_file():
        raise SystemExit(f"no warehouse at {source}")
    work = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=args.work or args.home.parent))
    try:
        shutil.copyfile(source, work / "warehouse.duckdb")
        yield work
    finally:
        if keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def cpu_seconds() -> float:
    """CPU time of this process so far, every thread, user and system: subtract two readings."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
