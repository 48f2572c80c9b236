"""Daily partitions of the landing zone by the day a file landed (its modification time, UTC).

A run covers a range of days (one run for the whole range: BackfillPolicy.single_run). Files that
landed before the first partition day count in the first day, files stamped in the future in
today's, so no file falls outside every partition.
"""

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from showdown_pipeline.core.landing import discover_landing_files

FIRST_LANDING_DAY = "2023-01-01"
landing_days = dg.DailyPartitionsDefinition(start_date=FIRST_LANDING_DAY, timezone="UTC", end_offset=1)

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def landing_partition_of(landed_at: datetime, today: date | None = None) -> str:
    first = date.fromisoformat(FIRST_LANDING_DAY)
    today = today or datetime.now(UTC).date()
    day = min(max(landed_at.astimezone(UTC).date(), first), today)
    return day.isoformat()


def landing_range_tags(landing_root: Path, today: date | None = None) -> dict[str, str]:
    """Tags for one run over the landing days that hold files (first to last): what a full rebuild
    ingests. With no files, today's partition alone."""
    today = today or datetime.now(UTC).date()
    days = sorted({landing_partition_of(lf.landed_at, today) for lf in discover_landing_files(landing_root)})
    first, last = (days[0], days[-1]) if days else (today.isoformat(), today.isoformat())
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


# One partition per licensee: `showdown export --licensee NAME` adds it when it is new.
licensees = dg.DynamicPartitionsDefinition(name="licensees")
