"""Integrity (DESIGN §4): fraud and collusion checks run before rating.

- `thresholds.py`: `IntegrityThresholds` (every knob, the UI's defaults) and the flag row's columns;
- `checks.py`: one function per voter check, from frames aggregated in SQL to flag rows;
- `registry.py`: `IntegrityCheck` (name, what it catches, thresholds, inputs, function) and `CHECKS`;
- `fragility.py`: the fewest votes whose removal changes #1;
- `run.py`: `run_integrity` — inputs read once through a `WarehouseSession`, the preliminary fit, the
  checks, exclusions, votes for review, board movement and fragility, as an `IntegrityResult`;
  `write_integrity` writes its five tables in one transaction.
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
from showdown_pipeline.core.integrity.registry import CHECKS, IntegrityCheck, IntegrityInputs, run_checks
from showdown_pipeline.core.integrity.run import (
    DEFAULT_ANOMALY_SEED,
    IntegrityOptions,
    IntegrityResult,
    run_integrity,
    write_integrity,
)
from showdown_pipeline.core.integrity.thresholds import FLAG_COLUMNS, IntegrityThresholds, flag_frame

__all__ = [
    "CHECKS",
    "DEFAULT_ANOMALY_SEED",
    "IntegrityCheck",
    "IntegrityInputs",
    "IntegrityOptions",
    "IntegrityResult",
    "run_checks",
    "run_integrity",
    "write_integrity",
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
