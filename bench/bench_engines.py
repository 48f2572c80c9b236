"""Time `showdown run` on the same landing zone with SHOWDOWN_ENGINE=duckdb and SHOWDOWN_ENGINE=spark.

Usage:
    python bench/bench_engines.py                      # a 200k-vote demo world made here (30 days)
    python bench/bench_engines.py --votes 1000000      # a bigger one
    python bench/bench_engines.py --landing /work/bench-worlds/w10m/landing --as-of 2026-11-01
    python bench/bench_engines.py --master spark://host:7077   # Spark on a cluster instead of local[2]

Each engine gets its own fresh home; runs alternate (duckdb, spark, duckdb, spark …) so both see the same
machine load. The Spark figure includes starting the JVM; peak RSS is the whole process tree's (the JVM is a
grandchild), sampled every half second; the slowest steps come from the Dagster run's own events. A benchmark, not a test: it asserts nothing about
time; it checks only that both runs published a snapshot.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure, measure_tree  # noqa: E402
from bench_nightly import step_seconds  # noqa: E402

SHOWDOWN = str(Path(sys.executable).parent / "showdown")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, help="an existing landing zone (default: make a demo world)")
    parser.add_argument("--votes", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--as-of", default="2026-11-01")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--master", default="local[2]", help="SHOWDOWN_SPARK_MASTER for the Spark runs")
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--steps", type=int, default=12, help="print the slowest N steps of each run")
    parser.add_argument("--work", type=Path, help="folder for the homes (default: a temporary folder)")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-engines-"))
    landing = args.landing
    if landing is None:
        landing = work / "landing"
        if not landing.exists():
            measure([SHOWDOWN, "demo-data", "--quiet", "--out", str(landing), "--votes", str(args.votes),
                     "--days", str(args.days)])  # fmt: skip
    results: dict[str, list[tuple[float, float]]] = {}
    for round_ in range(args.repeat):
        for engine in args.engines.split(","):
            home = work / f"home-{engine}-{round_}"
            shutil.rmtree(home, ignore_errors=True)
            os.environ["SHOWDOWN_ENGINE"] = engine
            os.environ["SHOWDOWN_SPARK_MASTER"] = args.master
            seconds, peak, _ = measure_tree(
                [SHOWDOWN, "run", "--landing", str(landing), "--home", str(home), "--as-of", args.as_of]
            )
            results.setdefault(engine, []).append((seconds, peak))
            print(
                f"{engine:7s} round {round_ + 1}: {seconds:8.1f} s wall, peak RSS {peak:8.0f} MiB", flush=True
            )
            steps = step_seconds(home)
            for step, took in sorted(steps.items(), key=lambda kv: -kv[1])[: args.steps]:
                print(f"    {step:<48} {took:8.1f} s {took / seconds:6.1%}", flush=True)
    for engine, runs in results.items():
        best = min(s for s, _ in runs)
        print(f"{engine:7s} best of {len(runs)}: {best:.1f} s")
    if {"duckdb", "spark"} <= results.keys():
        ratio = min(s for s, _ in results["spark"]) / min(s for s, _ in results["duckdb"])
        print(f"spark / duckdb (best of each): {ratio:.2f}x")


if __name__ == "__main__":
    main()
