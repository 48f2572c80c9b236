"""Publication circuit breakers as blocking asset checks on the assets they guard (logic: core/breakers.py).

A breaker that trips fails its check with severity ERROR, so nothing downstream runs: no snapshot, and
`LATEST` stays. A breaker the run's tag `showdown/override_breakers` names fails with severity WARN
instead (downstream runs) and publish records the override in the manifest.
"""

import dagster as dg
import pandas as pd

from showdown_pipeline.core import breakers, records, snapshots
from showdown_pipeline.core.records import BOARD_TABLES, PARAMETER_TABLES
from showdown_pipeline.defs.resources import (
    RunCutResource,
    ShowdownPaths,
    WarehouseResource,
    board_parameters,
)

THRESHOLDS = breakers.BreakerThresholds()

DESCRIPTIONS = {
    breakers.COUNTED_VOTES: "Counted votes before the cut did not fall by more than "
    f"{THRESHOLDS.max_counted_drop_share:.0%} since the latest snapshot.",
    breakers.EXCLUSIONS: f"Integrity excluded at most {THRESHOLDS.max_excluded_share:.0%} of the valid votes.",
    breakers.MOVEMENT: f"No model without new votes moved more than {THRESHOLDS.max_move_elo:g} Elo or "
    f"{THRESHOLDS.max_move_ranks} places since the latest snapshot (centred scale).",
    breakers.FINITE: "Every rating and interval bound is finite.",
    breakers.ANCHOR: "The anchor model sits exactly at its pinned rating.",
    breakers.CONTAINS: "Every published interval contains its estimate.",
}

# What each guarded asset must pass before a snapshot carries it.
BOARD_BREAKERS = {
    "overall_ratings": (breakers.FINITE, breakers.CONTAINS, breakers.ANCHOR, breakers.MOVEMENT),
    "style_ratings": (breakers.FINITE, breakers.CONTAINS, breakers.ANCHOR, breakers.MOVEMENT),
    **{
        table: (breakers.FINITE, breakers.CONTAINS)
        for b, table in BOARD_TABLES.items()
        if b not in ("raw", "style")
    },
}
VOTE_BREAKERS = {"votes_counted": (breakers.COUNTED_VOTES, breakers.EXCLUSIONS)}
GUARDED = {**VOTE_BREAKERS, **BOARD_BREAKERS}
_BOARD_OF_TABLE = {table: board for board, table in BOARD_TABLES.items()}


def check_result(verdict: breakers.Verdict, overrides: tuple[str, ...]) -> dg.AssetCheckResult:
    overridden = not verdict.passed and verdict.name in overrides
    return dg.AssetCheckResult(
        check_name=verdict.name,
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.WARN if overridden else dg.AssetCheckSeverity.ERROR,
        metadata={
            "reason": verdict.reason,
            "value": verdict.value if verdict.value is not None else "not measured",
            "limit": verdict.limit if verdict.limit is not None else "none",
            "overridden": overridden,
            "failing_count": 0 if verdict.passed else max(len(verdict.sample), 1),
            "failing_sample": dg.MetadataValue.json(verdict.sample),
        },
    )


def _latest(paths: ShowdownPaths, as_of) -> snapshots.Snapshot | None:
    """What this run is compared with: the newest snapshot at or before its cut (core/snapshots.py)."""
    return snapshots.baseline_snapshot(paths.snapshots, as_of.isoformat())


def _previous_board(paths: ShowdownPaths, board: str, as_of) -> pd.DataFrame | None:
    latest = _latest(paths, as_of)
    if latest is None:
        return None
    frame = latest.leaderboard()
    return frame[(frame["board"] == board) & (frame["segment_dim"] == "overall")]


def _board_verdicts(table: str, frame: pd.DataFrame, params: dict, paths: ShowdownPaths, as_of) -> list:
    board = _BOARD_OF_TABLE[table]
    verdicts = [
        breakers.ratings_and_intervals_finite(frame, THRESHOLDS),
        breakers.intervals_contain_estimates(frame, THRESHOLDS),
    ]
    if breakers.ANCHOR in BOARD_BREAKERS[table]:
        anchor = params["anchor"]
        if params.get("skipped"):
            verdicts.append(
                breakers.Verdict(breakers.ANCHOR, True, None, None, f"board skipped: {params['skipped']}")
            )
        else:
            verdicts.append(
                breakers.anchor_at_pinned_value(frame, anchor["model_id"], anchor["rating"], THRESHOLDS)
            )
        verdicts.append(
            breakers.no_movement_without_new_votes(frame, _previous_board(paths, board, as_of), THRESHOLDS)
        )
    return verdicts


def _board_check(table: str) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        name=f"{table}_breakers",
        specs=[
            dg.AssetCheckSpec(
                name,
                asset=table,
                blocking=True,
                description=DESCRIPTIONS[name],
                additional_deps=[PARAMETER_TABLES[records.parameters_board(_BOARD_OF_TABLE[table])]],
            )
            for name in BOARD_BREAKERS[table]
        ],
    )
    def board_breakers(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        paths: ShowdownPaths,
        run_cut: RunCutResource,
    ):
        """Circuit breakers on one board table, read back from the warehouse (not from the writer's memory)."""
        with warehouse.session() as session:
            frame = session.read_table(table).to_pandas()
            params = board_parameters(session, records.parameters_board(_BOARD_OF_TABLE[table]))
        for verdict in _board_verdicts(table, frame, params, paths, run_cut.cut.as_of):
            yield check_result(verdict, run_cut.cut.overrides)

    return board_breakers


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            name,
            asset="votes_counted",
            blocking=True,
            description=DESCRIPTIONS[name],
            additional_deps=["votes_clean"],
        )
        for name in VOTE_BREAKERS["votes_counted"]
    ],
)
def votes_counted_breakers(
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    paths: ShowdownPaths,
    run_cut: RunCutResource,
):
    """Circuit breakers on the counted votes: volume since the latest snapshot, and integrity's exclusions."""
    cut = run_cut.cut
    with warehouse.session() as session:
        totals = session.one("publish/breaker_vote_totals", {"cutoff": cut.cutoff})
    valid, counted = totals["valid"], totals["counted"]
    latest = _latest(paths, cut.as_of)
    previous_cut = latest.manifest.get("data_cut", {}) if latest else {}
    previous = (
        previous_cut["counted_before_cut"] + previous_cut.get("undated_counted", 0) if previous_cut else None
    )
    yield check_result(
        breakers.counted_votes_not_collapsed(
            counted, previous, cut.as_of.isoformat(), previous_cut.get("as_of"), THRESHOLDS
        ),
        cut.overrides,
    )
    yield check_result(breakers.exclusions_within_limit(valid, counted, THRESHOLDS), cut.overrides)


BREAKER_CHECKS = [votes_counted_breakers, *(_board_check(table) for table in BOARD_BREAKERS)]


def _evaluations(instance: dg.DagsterInstance, run_id: str) -> dict[tuple[str, str], tuple]:
    """(asset, check) -> (evaluation, timestamp) of the breaker checks a run evaluated."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    found = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.check_name in breakers.BREAKER_NAMES:
            found[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = (
                evaluation,
                record.timestamp,
            )
    return found


def breaker_record(context: dg.AssetExecutionContext, producers: dict[str, str], cut) -> dict:
    """The manifest's `breakers` section: each breaker of each published table, as evaluated by the run that
    made the table (this run, or the one that made a table this run did not remake). Refuses (dg.Failure)
    when a breaker was not evaluated for a published table, or tripped without an override in this run."""
    from datetime import UTC, datetime

    by_run = {
        run_id: _evaluations(context.instance, run_id) for run_id in {*producers.values(), context.run.run_id}
    }
    rows, problems = [], []
    for asset, run_id in producers.items():
        for name in GUARDED[asset]:
            found = by_run[context.run.run_id].get((asset, name)) or by_run[run_id].get((asset, name))
            if found is None:
                problems.append(f"breaker {name} was not evaluated on {asset} (made by run {run_id[:8]})")
                continue
            evaluation, timestamp = found
            meta = {k: v.value for k, v in evaluation.metadata.items()}
            overridden = not evaluation.passed and name in cut.overrides
            if not evaluation.passed and not overridden:
                problems.append(f"breaker {name} tripped on {asset}: {meta.get('reason')}")
            rows.append(
                {
                    "breaker": name,
                    "asset": asset,
                    "passed": bool(evaluation.passed),
                    "overridden": overridden,
                    "value": meta.get("value"),
                    "limit": meta.get("limit"),
                    "reason": meta.get("reason"),
                    "evaluated_at": datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z"),
                }
            )
    if problems:
        raise dg.Failure(
            description=f"snapshot not published: {problems[0]}"
            + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
        )
    overridden = [r for r in rows if r["overridden"]]
    return {
        "thresholds": dict(THRESHOLDS.__dict__),
        "evaluated": rows,
        "overrides": {
            "breakers": sorted({r["breaker"] for r in overridden}),
            "requested": list(cut.overrides),
            "by": cut.override_by or "unknown (no showdown/override_by tag)",
            "run_id": context.run.run_id,
            "tripped": overridden,
        }
        if cut.overrides
        else None,
    }


defs = dg.Definitions(asset_checks=BREAKER_CHECKS)
