"""The ingest with its staged files loaded in batches (core/landing.BATCH_RECORDS) against each file alone.

    python bench/bench_ingest_batch.py [--votes 1000000 --days 10] | --landing L [--work DIR]
        [--records 1 300000] [--repeat 1]

Without --landing, writes a demo world first (`showdown demo-data --votes N --days D`, into a temporary
folder; its vote files alternate JSON Lines gzip and Parquet, ~110k votes a day at 10M over 90 days). For
each --records setting (1: every file alone, one INSERT and one COMMIT each, the code before batches), the
real ingest (`core.landing.ingest_landing`, what the `landing_zone_ingest` asset runs, with the warehouse's
settings: `settings.warehouse_connection_config`) reads the whole landing zone into a fresh home in a child
process of its own. It prints the wall time, the child's CPU time
(every thread), its peak RSS (`wait4`), the seconds per file read, and the seconds spent loading and
committing (the progress events from `loading` to `done`: the warehouse's share; the rest is hashing,
staging and waiting for the read-ahead). Each setting's raw tables and ledger are compared with the first's:
the bench fails when they differ.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure_child  # noqa: E402

LEDGER = (
    "SELECT path, sha256, ingest_seq, status, rows_in, blank_lines, error, content_sha256 "
    "FROM landing_files ORDER BY ingest_seq"
)


def child(landing: Path, home: Path, records: int) -> None:
    """In the child: the ingest of `landing` into a new home `home`, batches of `records`."""
    from showdown_pipeline import settings
    from showdown_pipeline.core import landing as core_landing
    from showdown_pipeline.core.staging import IngestLimits
    from showdown_pipeline.core.warehouse import duckdb_session

    core_landing.BATCH_RECORDS = records
    home.mkdir(parents=True)
    place = core_landing.IngestPlace(landing, settings.ingest_staging_dir(home), IngestLimits.from_env())
    files = core_landing.discover_landing_files(landing)
    warehouse = {"seconds": 0.0, "since": None}

    def progress(event: str, path: str) -> None:
        now = time.perf_counter()
        if event == "loading" and warehouse["since"] is None:
            warehouse["since"] = now
        elif event == "done" and warehouse["since"] is not None:
            warehouse["seconds"] += now - warehouse["since"]
            warehouse["since"] = None

    start, before = time.perf_counter(), os.times()
    config = settings.warehouse_connection_config(
        home=home
    )  # the pipeline's memory limit, threads, spill folder
    with duckdb_session(settings.warehouse_path(home), config) as session:
        outcomes, _ = core_landing.ingest_landing(session, files, "bench", place, progress)
    after = os.times()
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - start,
                "cpu": (after.user - before.user) + (after.system - before.system),
                "files": sum(o.status == "ingested" for o in outcomes),
                "rows": sum(o.rows_in for o in outcomes if o.status == "ingested"),
                "warehouse": warehouse["seconds"],
            }
        )
    )


def state(home: Path) -> tuple:
    import duckdb

    from showdown_pipeline import settings

    with duckdb.connect(str(settings.warehouse_path(home)), read_only=True) as conn:
        tables = tuple(
            conn.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {t}").fetchone()  # noqa: S608 - fixed names
            for t in ("raw_votes", "raw_contributors", "raw_models")
        )
        return conn.execute(LEDGER).fetchall(), tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--landing", type=Path, help="a landing zone (default: a demo world written first)")
    parser.add_argument("--votes", type=int, default=1_000_000, help="the demo world's votes (no --landing)")
    parser.add_argument("--days", type=int, default=10, help="the demo world's days (no --landing)")
    parser.add_argument("--work", type=Path, help="where the homes go (default: a temporary folder)")
    parser.add_argument("--records", type=int, nargs="+", default=[1, 300_000], help="batch sizes to time")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each setting, interleaved")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), int(args.child[2]))
        return
    with tempfile.TemporaryDirectory(prefix="bench-ingest-batch-", dir=args.work) as tmp:
        landing = args.landing
        if landing is None:
            landing = Path(tmp) / "landing"
            subprocess.run(
                [sys.executable, "-m", "showdown_pipeline.cli", "demo-data", "--quiet", "--out", str(landing),
                 "--votes", str(args.votes), "--days", str(args.days)],
                check=True,
            )  # fmt: skip
        landing = landing.resolve()
        first = None
        for run in range(args.repeat):
            for records in args.records:
                home = Path(tmp) / f"home-{records}-{run}"
                seconds, peak, out = measure_child(
                    [sys.executable, __file__, "--child", str(landing), str(home), str(records)]
                )
                result = json.loads(out.strip().splitlines()[-1])
                print(
                    f"batches of {records:>9,} records: {result['seconds']:7.1f} s wall, {result['cpu']:7.1f} s CPU, "
                    f"peak {peak:,.0f} MiB; {result['files']} files ({result['rows']:,} rows), "
                    f"{result['seconds'] / max(result['files'], 1):.2f} s a file; loading and committing "
                    f"{result['warehouse']:.1f} s",
                    flush=True,
                )
                now = state(home)
                if first is None:
                    first = now
                elif now != first:
                    raise SystemExit(f"batches of {records} records left another ledger or raw tables")
                shutil.rmtree(home)
        print("every setting left the same ledger and raw tables")


if __name__ == "__main__":
    main()
