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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _built_home import add_home_arguments, cpu_seconds, run_on_home, warehouse_copy  # noqa: E402
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
    start, before = time.perf_counter(), cpu_seconds()
    with duckdb_session(warehouse) as session:
        passed, outcomes, rows = expectations.validate_unchecked_votes(session)
    cpu = cpu_seconds() - before
    print(json.dumps({"passed": passed, "rows": rows, "seconds": time.perf_counter() - start, "cpu": cpu}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_home_arguments(parser)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    run_on_home(args, measure, "gx-suite")


def measure(args: argparse.Namespace) -> None:
    with warehouse_copy(args, "gx-suite") as work:
        command = [sys.executable, __file__, "--child", str(work / "warehouse.duckdb")]
        seconds, peak, out = measure_child(command)
        result = json.loads(out.strip().splitlines()[-1])
        commit = provenance.code_version()["git_commit"] or "?"
        print(f"code {commit[:12]}: {result['rows']:,} votes, passed {result['passed']}")
        print(
            f"suite {result['seconds']:.1f} s wall, {result['cpu']:.1f} s CPU; child {seconds:.1f} s, peak {peak:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
