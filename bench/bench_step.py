"""One step of the nightly build alone over a built warehouse: the segment boards or integrity.

    python bench/bench_step.py [--step segments|integrity] [--votes 1000000] | --home H [--work DIR] [--keep]
        [--as-of 2026-11-01]

Without --home, builds one first (_built_home.built_home: `showdown demo-data --votes N --days 30`, then
`showdown run`) in a temporary folder. Copies the home's warehouse into --work (default: a temporary folder
beside the home; the home is never written) and materializes the step's assets on the copy in a child
process, with the cut the home was built with (--as-of: bench_nightly's worlds use 2026-11-01):

- `segments` (default): `segment_ratings`, every dimension's raw and style boards; the nightly build's largest
  step at 10M votes (bench_nightly.py);
- `integrity`: `integrity_checks` (the flags, the exclusions, `votes_counted`, the reviews, the summary).

It prints the step's wall time, its CPU time (every thread of the child: on a shared machine the steadier
figure), the child's peak RSS (`wait4`) and the warehouse statements that took longest (seconds summed over
each statement's runs, measured around the session's calls: DuckDB's time and the hand-over of the result).
--keep leaves the copy, its tables written, to compare with the home's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _built_home import add_home_arguments, cpu_seconds, run_on_home, warehouse_copy  # noqa: E402
from _measure import measure_child  # noqa: E402

from showdown_pipeline.core import provenance  # noqa: E402

STEPS = {  # --step: (module, asset)
    "segments": ("showdown_pipeline.defs.ratings.assets", "segment_ratings"),
    "integrity": ("showdown_pipeline.defs.integrity.assets", "integrity_checks"),
}
SHOWN_STATEMENTS = 12


def timed_statements() -> Counter:
    """Seconds per statement name, summed, from now on: every DuckDB session's `run` and `query` are timed."""
    from showdown_pipeline.core.warehouse import DuckDBSession

    seconds: Counter = Counter()
    for method in ("run", "query"):
        untimed = getattr(DuckDBSession, method)

        def timed(self, name, params=None, _untimed=untimed):
            start = time.perf_counter()
            try:
                return _untimed(self, name, params)
            finally:
                seconds[name] += time.perf_counter() - start

        setattr(DuckDBSession, method, timed)
    return seconds


def child(home: Path, step: str, as_of: str) -> None:
    """In the child: the step's assets materialized on `home` (a copy), the cut's tags as `showdown run`
    sends them."""
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    import importlib

    import dagster as dg

    from showdown_pipeline.core import run_cut
    from showdown_pipeline.defs.resources import build_resources

    module, name = STEPS[step]
    assets = getattr(importlib.import_module(module), name)
    seconds = timed_statements()
    start, before = time.perf_counter(), cpu_seconds()
    result = dg.materialize(
        [assets],
        resources=build_resources(None, home),
        instance=dg.DagsterInstance.ephemeral(),
        tags={run_cut.TAG_AS_OF: as_of},
        raise_on_error=True,
    )
    cpu = cpu_seconds() - before
    materialized = sum(1 for event in result.get_asset_materialization_events())
    print(
        json.dumps(
            {
                "assets": materialized,
                "seconds": time.perf_counter() - start,
                "cpu": cpu,
                "statements": seconds.most_common(SHOWN_STATEMENTS),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--step", choices=sorted(STEPS), default="segments", help="the step to time")
    add_home_arguments(parser)
    parser.add_argument("--as-of", default="2026-11-01", help="the cut the home was built with")
    parser.add_argument(
        "--keep", action="store_true", help="keep the copy (with --home), to compare its tables"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.step, args.as_of)
        return
    run_on_home(args, measure, f"step-{args.step}")


def measure(args: argparse.Namespace) -> None:
    with warehouse_copy(args, f"step-{args.step}", keep=args.keep) as work:
        command = [
            sys.executable, __file__, "--child", str(work), "--step", args.step, "--as-of", args.as_of
        ]  # fmt: skip
        seconds, peak, out = measure_child(command)
        result = json.loads(out.strip().splitlines()[-1])
        commit = provenance.code_version()["git_commit"] or "?"
        print(
            f"code {commit[:12]}: step {args.step}, {result['assets']} assets materialized (as of {args.as_of})"
        )
        print(
            f"{args.step} {result['seconds']:.1f} s wall, {result['cpu']:.1f} s CPU; "
            f"child {seconds:.1f} s, peak {peak:,.0f} MiB"
        )
        print("longest statements (seconds, summed over their runs):")
        for name, spent in result["statements"]:
            print(f"  {spent:8.2f}  {name}")


if __name__ == "__main__":
    main()
