"""The nightly build against its floor: how many times a bare DuckDB pass over the votes the full build takes.

    python bench/bench_nightly.py [--votes 30000000] [--worlds /work/bench-worlds] [--repeat 1]

For each world (10M votes always; `--votes N` adds a world of N votes, 90 days, the demo generator's default
seed), each measurement runs in a child process of its own, its wall time and peak RSS (the child's and its
descendants' high-water mark, from `wait4`) reported:

- the floor: DuckDB reads every vote file once (`read_json` over the JSON Lines files, `read_parquet` over the
  Parquet ones) and counts GROUP BY model_left, model_right, winner — the least any build must do;
- the full nightly build: `showdown run --landing L --home H --as-of 2026-11-01` on a fresh home.

It prints the floor, the build, their ratio, ingest + validate + dedupe and its ratio to the floor, each
step's seconds and share of the build (from the Dagster run's own STEP_START / STEP_SUCCESS events in the
home's instance: the run's record of itself, not a log parsed), the peaks, and the share of the build
spent over every counted vote: the least share an incremental night can take (`night_bound`). Worlds are
generated once, kept under --worlds (outside the repository; a world is complete once its COMPLETE marker is
written) and reused. The machine is shared: compare ratios measured in one run, and repeat (`--repeat`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from _measure import measure_child

AS_OF = "2026-11-01"
TEN_MILLION = 10_000_000
# Steps of the full rebuild, grouped as the targets are (a step not named here is shown as itself).
INGEST_STEPS = ("landing_zone_ingest",)
VALIDATE_STEPS = ("model_registry", "validated_contributors", "validated_votes")
# Steps a night runs for the new landing day's records only (the ledger, the checked state per record, the GX
# suite over the unchecked ones); every other step is over every counted vote, on a night as on a full build,
# since a night must publish what a full rebuild publishes (the fits' inputs, bootstrap draws, held-out folds
# and integrity's preliminary fit are over all the votes).
NIGHT_SCALED_STEPS = (*INGEST_STEPS, *VALIDATE_STEPS, "votes_clean_")
# The floor's one pass (bench only: the pipeline's SQL lives in showdown_pipeline/sql/), by which formats exist.
_JSONL = "SELECT model_left, model_right, winner FROM read_json($jsonl, format = 'newline_delimited')"
_PARQUET = "SELECT model_left, model_right, winner FROM read_parquet($parquet)"
_COUNT = "SELECT model_left, model_right, winner, count(*) AS n FROM ({}) GROUP BY ALL"
FLOOR_SQL = {
    (True, True): _COUNT.format(f"{_JSONL} UNION ALL {_PARQUET}"),
    (True, False): _COUNT.format(_JSONL),
    (False, True): _COUNT.format(_PARQUET),
}


def world_landing(worlds: Path, votes: int, showdown: str) -> Path:
    """The landing zone of the `votes`-vote world under `worlds`, generated once."""
    name = f"w{votes // 1_000_000}m" if votes % 1_000_000 == 0 else f"w{votes}"
    world = worlds / name
    landing = world / "landing"
    log = worlds / f"{name}.log"  # the shared 10M world was made by hand: its log says when it was complete
    if (world / "COMPLETE").exists() or (log.exists() and "wrote " in log.read_text(errors="replace")):
        return landing
    if landing.exists():
        raise SystemExit(f"{landing} exists without {world / 'COMPLETE'}: a generation is running or died")
    print(f"generating {votes:,} votes into {landing} (once)", flush=True)
    seconds, peak, _ = measure_child(
        [showdown, "demo-data", "--quiet", "--out", str(landing), "--votes", str(votes), "--days", "90"]
    )
    (world / "COMPLETE").write_text(
        f"showdown demo-data --votes {votes} --days 90: {seconds:.0f} s, {peak:.0f} MiB\n"
    )
    return landing


def floor_pass(landing: Path) -> None:
    """The floor, run in a child: one DuckDB pass over every vote file, counted by (left, right, winner)."""
    import duckdb

    votes = landing / "votes"
    jsonl = sorted(str(p) for p in votes.rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz")))
    parquet = sorted(str(p) for p in votes.rglob("*.parquet"))
    params = {name: files for name, files in (("jsonl", jsonl), ("parquet", parquet)) if files}
    sql = FLOOR_SQL[(bool(jsonl), bool(parquet))]
    with duckdb.connect() as conn:
        rows = conn.execute(sql, params).fetchall()
    print(json.dumps({"votes": sum(r[3] for r in rows), "files": len(jsonl) + len(parquet)}))


def step_seconds(home: Path) -> dict[str, float]:
    """Seconds of each step of the home's latest run, from its STEP_START and STEP_SUCCESS events."""
    import dagster as dg

    from showdown_pipeline import settings

    os.environ["DAGSTER_HOME"] = str(settings.dagster_home(home))
    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        started, seconds = {}, {}
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None or entry.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[entry.step_key] = entry.timestamp
            elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                seconds[entry.step_key] = entry.timestamp - started[entry.step_key]
    return seconds


def build(landing: Path, worlds: Path, showdown: str) -> tuple[float, float, dict[str, float]]:
    """The full nightly build on a fresh home: (seconds, peak MiB, seconds per step)."""
    homes = worlds / "homes"
    homes.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="nightly-", dir=homes))
    try:
        seconds, peak, _ = measure_child(
            [showdown, "run", "--landing", str(landing), "--home", str(home), "--as-of", AS_OF, "--top", "1"]
        )
        print(f"build: {seconds:.1f} s, peak {peak:.0f} MiB", flush=True)
        try:
            return seconds, peak, step_seconds(home)
        except Exception as exc:  # the build's figures stand without the breakdown
            print(f"step timings unavailable: {type(exc).__name__}: {exc}", flush=True)
            return seconds, peak, {}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def report(votes: int, floor: tuple[float, float], built: tuple[float, float, dict[str, float]]) -> None:
    floor_s, floor_peak = floor
    build_s, build_peak, steps = built
    ingest = sum(steps.get(s, 0.0) for s in INGEST_STEPS)
    validate = sum(steps.get(s, 0.0) for s in VALIDATE_STEPS)
    print(f"\n== {votes:,} votes (a shared, noisy machine: compare the ratios of one run)")
    print(f"floor (DuckDB bare pass)        {floor_s:8.1f} s   peak {floor_peak:7.0f} MiB")
    print(
        f"full build (showdown run)       {build_s:8.1f} s   peak {build_peak:7.0f} MiB   {build_s / floor_s:5.1f}x floor"
    )
    print(f"  ingest                        {ingest:8.1f} s   {ingest / floor_s:5.1f}x floor")
    print(
        f"  ingest + validate + dedupe    {ingest + validate:8.1f} s   {(ingest + validate) / floor_s:5.1f}x floor"
    )
    print(f"  {'step':<48} {'seconds':>8} {'share':>6}")
    for step, seconds in sorted(steps.items(), key=lambda kv: -kv[1]):
        print(f"  {step:<48} {seconds:8.1f} {seconds / build_s:6.1%}")
    print(f"  {'(outside steps: start-up, planning)':<48} {build_s - sum(steps.values()):8.1f}")
    if steps:
        night_bound(build_s, steps)


def night_bound(build_s: float, steps: dict[str, float]) -> None:
    """The least share of this build an incremental night can take: the steps over every counted vote, which
    a night repeats in full (an upper bound on what reading only the new day can save)."""
    whole = sum(s for step, s in steps.items() if not step.startswith(NIGHT_SCALED_STEPS))
    print(
        f"  over every counted vote (a night repeats them) {whole:8.1f} s = {whole / build_s:.2f} of the build: "
        f"the least night / build; <= 0.33 needs them <= half of the rest ({(build_s - whole) / 2:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, nargs="*", default=[], help="worlds beyond the 10M one")
    parser.add_argument("--worlds", default="/work/bench-worlds", help="where worlds are generated and kept")
    parser.add_argument("--repeat", type=int, default=1, help="measure each world this many times")
    parser.add_argument("--floor-only", dest="floor_of", help=argparse.SUPPRESS)  # the floor's child
    args = parser.parse_args()
    if args.floor_of:
        floor_pass(Path(args.floor_of))
        return
    showdown = str(Path(sys.executable).with_name("showdown"))
    worlds = Path(args.worlds)
    worlds.mkdir(parents=True, exist_ok=True)
    builds = {}
    for votes in sorted({TEN_MILLION, *args.votes}):
        landing = world_landing(worlds, votes, showdown)
        for _ in range(args.repeat):
            seconds, peak, out = measure_child([sys.executable, __file__, "--floor-only", str(landing)])
            counted = json.loads(out.strip().splitlines()[-1])
            print(
                f"floor {votes:,}: {seconds:.1f} s, {counted['votes']:,} votes in {counted['files']} files",
                flush=True,
            )
            built = build(landing, worlds, showdown)
            report(votes, (seconds, peak), built)
            builds.setdefault(votes, []).append(built[0])
    if len(builds) > 1:
        base = min(builds[TEN_MILLION])
        for votes, times in builds.items():
            print(f"build {votes:,}: best {min(times):.1f} s = {min(times) / base:.2f}x the 10M build")


if __name__ == "__main__":
    main()
