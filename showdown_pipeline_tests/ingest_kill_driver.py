"""The ingest in a process of its own, for the kill test: `python -m showdown_pipeline_tests.ingest_kill_driver
LANDING HOME`. It runs the real ingest (`core.landing.ingest_landing`, what the `landing_files` asset runs)
on the real warehouse file and prints each step (`<event> <path>`, see `core.landing.Progress`; `started -`
before the warehouse opens) as it starts.

Test-only hook: with `SHOWDOWN_TEST_KILL_AT=EVENT:N[:DELAY]` in its environment the process kills itself
(SIGKILL, as `kill -9` or a power cut would) at the N-th EVENT. With a DELAY (seconds) the ingest goes on
meanwhile (so the kill may land inside a COMMIT or a staged copy's write), and the process waits at the next
named point for the kill: it lands before the next step starts, however fast or slow the machine. A kill
point whose event never comes lets the process finish (the test sees it: "finished").

Test-only hook: `SHOWDOWN_TEST_BATCH_RECORDS=N` loads the staged files in batches of N records
(`core.landing.BATCH_RECORDS`), so a landing zone of small files makes many batches of a few files each."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from showdown_pipeline import settings
from showdown_pipeline.core import landing
from showdown_pipeline.core.staging import IngestLimits
from showdown_pipeline.core.warehouse import duckdb_session

KILL_AT = "SHOWDOWN_TEST_KILL_AT"
BATCH_RECORDS = "SHOWDOWN_TEST_BATCH_RECORDS"


class KillAt:
    """The progress callback: prints each event and kills this process at the chosen one."""

    def __init__(self, spec: str | None):
        event, nth, delay = ((spec or "") + "::").split(":")[:3]
        self.event, self.nth, self.delay = event, int(nth or 0), float(delay or 0)
        self.seen, self.armed = 0, False

    def __call__(self, event: str, path: str) -> None:
        print(event, path, flush=True)
        self.hold()  # a delayed kill not yet landed: wait for it here, before this step starts
        if event != self.event:
            return
        self.seen += 1
        if self.seen != self.nth:
            return
        if self.delay <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
        threading.Timer(self.delay, os.kill, (os.getpid(), signal.SIGKILL)).start()
        self.armed = True

    def hold(self) -> None:
        while self.armed:
            time.sleep(1)


def main(landing_dir: str, home_dir: str) -> None:
    home = Path(home_dir)
    home.mkdir(parents=True, exist_ok=True)
    place = landing.IngestPlace(Path(landing_dir), settings.ingest_staging_dir(home), IngestLimits.from_env())
    files = landing.discover_landing_files(Path(landing_dir))
    if os.environ.get(BATCH_RECORDS):
        landing.BATCH_RECORDS = int(os.environ[BATCH_RECORDS])
    kill_at = KillAt(os.environ.get(KILL_AT))
    kill_at("started", "-")  # the warehouse opens next (a kill may land while it replays its WAL)
    with duckdb_session(settings.warehouse_path(home)) as session:
        outcomes, recovered = landing.ingest_landing(session, files, "kill-test", place, kill_at)
    kill_at.hold()
    ingested = sum(o.status == "ingested" for o in outcomes)
    print(f"finished {len(outcomes)} files, {ingested} ingested, recovered {recovered}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
