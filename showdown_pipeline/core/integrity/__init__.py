"""Integrity (DESIGN §4): fraud and collusion checks run before rating.

- `thresholds.py`: `IntegrityThresholds` (every knob, the UI's defaults) and the flag row's columns;
- `checks.py`: one function per voter check, from frames aggregated in SQL to flag rows;
- `fragility.py`: the fewest votes whose removal changes #1.
"""

from showdown_pipeline.core.integrity.checks import (
    coordinated_sweeps,
    daily_volume,
    disfavouring,
    favouritism,
    inhuman_regularity,
    outcome_anomaly,
    position_bias,
    prompt_flooders,
    rings,
    too_fast,
)
from showdown_pipeline.core.integrity.fragility import fragility
from showdown_pipeline.core.integrity.thresholds import FLAG_COLUMNS, IntegrityThresholds, flag_frame

__all__ = [
    "FLAG_COLUMNS",
    "IntegrityThresholds",
    "coordinated_sweeps",
    "daily_volume",
    "disfavouring",
    "favouritism",
    "flag_frame",
    "fragility",
    "inhuman_regularity",
    "outcome_anomaly",
    "position_bias",
    "prompt_flooders",
    "rings",
    "too_fast",
]
