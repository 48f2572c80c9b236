"""The Great Expectations suite over a built warehouse, every counted vote unchecked (as after a full rebuild).

    python bench/bench_gx_suite.py [--votes 1000000] | --home H [--work DIR]

Without --home, builds one first (`showdown demo-data --votes N --days 30`, then `showdown run`) in a temporary
folder. Copies the home's warehouse into --work (default: a temporary folder beside the home; the home is never
written), marks every counted vote unchecked, and runs `core/expectations.validate_unchecked_votes` in a child
process: its wall time, CPU time (every thread of the child: on a shared machine the steadier figure) and peak
RSS (`wait4`).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure_child  # noqa: E402

from showdown_pipeline.core import provenance  # noqa: E402


def child(warehouse: Path) -> None:
    """In the child: the suite on every counted vote of `warehouse` (a copy)."""
    import duckdb

    from showdown_pipeline.core import expectations
    from showdown_pipeline.core.warehouse import duckdb_session

    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("DELETE FROM votes_clean_unchecked")
        conn.execute("INSERT INTO votes_clean_unchecked SELECT row_key FROM votes_clean")
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    with duckdb_session(warehouse) as session:
        passed, outcomes, rows = expectations.validate_unchecked_votes(session)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"passed": passed, "rows": rows, "seconds": time.perf_counter() - start, "cpu": cpu}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--home", type=Path, help="a built home (its warehouse.duckdb is copied, never written)"
    )
    parser.add_argument(
        "--work", type=Path, help="where the copy goes (default: a temporary folder beside the home)"
    )
    parser.add_argument("--votes", type=int, default=1_000_000, help="the demo world built without --home")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if args.home is None:
        with tempfile.TemporaryDirectory(prefix="gx-suite-home-") as built:
            args.home = built_home(Path(built), args.votes)
            measure(args)
        return
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


def measure(args: argparse.Namespace) -> None:
    source = args.home / "warehouse.duckdb"
    if not source.is_file():
        raise SystemExit(f"no warehouse at {source}")
    work = Path(tempfile.mkdtemp(prefix="gx-suite-", dir=args.work or args.home.parent))
    try:
        copy = work / "warehouse.duckdb"
        shutil.copyfile(source, copy)
        seconds, peak, out = measure_child([sys.executable, __file__, "--child", str(copy)])
        result = json.loads(out.strip().splitlines()[-1])
        commit = provenance.code_version()["git_commit"] or "?"
        print(f"code {commit[:12]}: {result['rows']:,} votes, passed {result['passed']}")
        print(
            f"suite {result['seconds']:.1f} s wall, {result['cpu']:.1f} s CPU; child {seconds:.1f} s, peak {peak:,.0f} MiB"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
