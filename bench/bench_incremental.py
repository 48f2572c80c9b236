"""An incremental night against a full build: a home holding all but the last landing day of a world, then
the night that adds that day (it re-reads only that day's files: the ledger knows the others, and validation
checks only their records), against a full build of the whole world on a fresh home.

    python bench/bench_incremental.py --world /work/bench-worlds/w10m/landing --work /tmp/bench-incremental

The world's landing zone is linked (hard links: same bytes, same landing day), never written. Each run is a
real `showdown run` in a child process; the figures are its wall time and peak RSS (wait4). The night's
outputs equal a full rebuild's (showdown_pipeline_tests/test_incremental.py proves it on a small world).
Without --full, the first run (a full build of all days but the last) stands in for the full build.
After each run it prints the seconds of the run's steps, the largest first (from the home's own Dagster run
record, as bench_nightly.py reads them): what a night still does for all the data.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SHOWDOWN = str(Path(sys.executable).with_name("showdown"))


def run(landing: Path, home: Path, as_of: str) -> tuple[float, float]:
    """(seconds, peak RSS GiB) of one `showdown run`."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [SHOWDOWN, "run", "--landing", str(landing), "--home", str(home), "--as-of", as_of],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.stderr.write(child.stderr.read().decode(errors="replace")[-4000:])
        raise SystemExit(f"showdown run failed on {landing}")
    return elapsed, usage.ru_maxrss / 2**20


def print_steps(home: Path, top: int = 8) -> None:
    """The `top` longest steps of the home's latest run (bench_nightly.step_seconds), the rest summed."""
    from bench_nightly import step_seconds

    before = os.environ.get("DAGSTER_HOME")
    try:
        steps = sorted(step_seconds(home).items(), key=lambda kv: -kv[1])
    finally:  # step_seconds points this process at the home's instance; the next child must not inherit it
        if before is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = before
    for step, seconds in steps[:top]:
        print(f"    {step:<48} {seconds:7.1f} s", flush=True)
    print(f"    {f'{len(steps[top:])} other steps':<48} {sum(s for _, s in steps[top:]):7.1f} s", flush=True)


def link_tree(source: Path, dest: Path, skip: set[Path]) -> None:
    """Hard-link every file of `source` under `dest` (mtimes are the files' own), except under `skip`."""
    for path in sorted(source.rglob("*")):
        if path.is_dir() or any(s in path.parents for s in skip):
            continue
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            os.link(path, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, default=Path("/work/bench-worlds/w10m/landing"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-incremental"))
    parser.add_argument("--as-of", default="2026-11-01")
    parser.add_argument("--full", action="store_true", help="also time a full build of every day, fresh home")
    args = parser.parse_args()
    days = sorted(p for p in (args.world / "votes").iterdir() if p.is_dir() and p.name[:2] == "20")
    last = days[-1]
    shutil.rmtree(args.work, ignore_errors=True)
    landing, home = args.work / "landing", args.work / "home"
    link_tree(args.world, landing, skip={last})
    print(f"world {args.world}: {len(days)} landing days; the night adds {last.name}", flush=True)
    first, first_rss = run(landing, home, args.as_of)
    print(f"full build of {len(days) - 1} days: {first:.1f} s, peak RSS {first_rss:.2f} GiB", flush=True)
    print_steps(home)
    link_tree(args.world, landing, skip=set())
    night, night_rss = run(landing, home, args.as_of)
    print(f"night adding {last.name}: {night:.1f} s, peak RSS {night_rss:.2f} GiB", flush=True)
    print_steps(home)
    full = first
    if args.full:
        full, full_rss = run(landing, args.work / "full-home", args.as_of)
        print(f"full build of {len(days)} days: {full:.1f} s, peak RSS {full_rss:.2f} GiB", flush=True)
        print_steps(args.work / "full-home")
    print(f"night / full build: {night / full:.2f} (target <= 0.33)")


if __name__ == "__main__":
    main()
