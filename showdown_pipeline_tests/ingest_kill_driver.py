"""The ingest in a process of its own, for the kill test: `python -m showdown_pipeline_tests.ingest_kill_driver
LANDING HOME`. It runs the real ingest (`core.landing.ingest_landing`, what the `landing_files` asset runs)
on the real warehouse file and prints each step (`<event> <path>`) as it starts, so the test can kill it
at a chosen point."""

from __future__ import annotations

import sys
from pathlib import Path

from showdown_pipeline import settings
from showdown_pipeline.core import landing
from showdown_pipeline.core.staging import IngestLimits
from showdown_pipeline.core.warehouse import duckdb_session


def main(landing_dir: str, home_dir: str) -> None:
    home = Path(home_dir)
    home.mkdir(parents=True, exist_ok=True)
    place = landing.IngestPlace(Path(landing_dir), settings.ingest_staging_dir(home), IngestLimits.from_env())
    files = landing.discover_landing_files(Path(landing_dir))
    print("started -", flush=True)
    with duckdb_session(settings.warehouse_path(home)) as session:
        outcomes, recovered = landing.ingest_landing(
            session, files, "kill-test", place, lambda event, path: print(event, path, flush=True)
        )
    print(f"finished {len(outcomes)} files, recovered {recovered}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
