"""Publish: an immutable snapshot of the boards with its manifest and report."""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from showdown_pipeline.core import (
    anonymity,
    data_state,
    provenance,
    providers,
    records,
    registry,
    report,
    snapshots,
)
from showdown_pipeline.core.boards import SEGMENT_DIMENSIONS
from showdown_pipeline.core.records import BOARD_TABLES, PARAMETER_TABLES
from showdown_pipeline.core.warehouse import WarehouseSession
from showdown_pipeline.defs.metadata import markdown_table, row_count
from showdown_pipeline.defs.publish.breakers import breaker_record
from showdown_pipeline.defs.resources import (
    WAREHOUSE_POOL,
    RunCutResource,
    ShowdownPaths,
    WarehouseResource,
    board_parameters,
    ensure_same_cut,
)

INPUT_FIELDS = ("path", "sha256", "kind", "rows_in", "valid", "duplicates", "quarantined", "error")


def _reasons(session: WarehouseSession, statement: str) -> dict[str, int]:
    return {r["reason"]: r["n"] for r in session.rows(statement)}


def input_section(session: WarehouseSession, run_id: str) -> dict:
    """The manifest's `input` section: every vote file of the ledger and where each of its rows ended."""
    files = session.rows("validate/input_accounting")
    quarantine = _reasons(session, "validate/quarantine_by_reason")
    duplicates = _reasons(session, "validate/duplicates_by_reason")
    listed = []
    for f in files:
        if f["status"] == "rejected":
            status = "rejected"
        elif f["run_id"] == run_id:
            status = "ingested"
        else:
            status = "unchanged"  # ingested by an earlier run; its rows are still counted
        listed.append(
            {**{k: f[k] for k in INPUT_FIELDS[:3]}, "status": status, **{k: f[k] for k in INPUT_FIELDS[3:]}}
        )
    return {
        "rows_in": sum(f["rows_in"] for f in files),
        "valid": sum(f["valid"] for f in files),
        "duplicates": sum(duplicates.values()),
        "duplicates_by_reason": duplicates,
        "quarantined": {"total": sum(quarantine.values()), "by_reason": quarantine},
        "files": listed,
    }


def read_boards(session: WarehouseSession) -> tuple[pd.DataFrame, dict]:
    """Every board table that exists, stacked, and each board's parameters."""
    existing = session.table_names()
    frames, parameters = [], {}
    for board, table in BOARD_TABLES.items():
        if table in existing:
            frames.append(session.read_table(table).to_pandas())
            parameters[board] = board_parameters(session, records.parameters_board(board))
    board = pd.concat([f for f in frames if len(f)], ignore_index=True) if frames else pd.DataFrame()
    board = anonymity.withhold_small_segments_of(session, board, parameters)  # segments of < k voters
    order = {"raw": 0, "style": 1}
    dims = {d: i for i, d in enumerate(("overall", *SEGMENT_DIMENSIONS))}
    board = board.assign(_b=board["board"].map(order), _d=board["segment_dim"].map(dims))
    board = board.sort_values(  # ranks count within a component (its own scale): never interleave them
        ["_b", "_d", "segment_value", "component", "rank", "rating", "model_id"],
        ascending=[True, True, True, True, True, False, True],
        kind="stable",  # and the model id breaks ties: one order, whatever order the tables were read in
    )
    return board.drop(columns=["_b", "_d"]).reset_index(drop=True), parameters


def _producers(
    context: dg.AssetExecutionContext, run_cut: RunCutResource, board_parameters: dict, integrity: dict
) -> dict[str, str]:
    """Which run made each table this snapshot carries; refuses a table made under another cut."""
    recorded = {BOARD_TABLES[b]: p.get("run") for b, p in board_parameters.items()}
    recorded["votes_counted"] = integrity.get("run")
    for table, run in recorded.items():
        ensure_same_cut(context, run_cut, run, table)
    return {table: run["run_id"] for table, run in recorded.items()}


def _warehouse_sections(session: WarehouseSession, run_id: str) -> dict:
    """What the manifest takes from the warehouse besides the boards."""
    contributors = session.one("validate/contributor_accounting")
    summary = session.one("publish/registry_summary")
    return {
        "input": input_section(session, run_id),
        "registry": registry.registry_state(session).manifest_section(summary["usable"], summary["unusable"]),
        "integrity": records.load_integrity_summary(session),
        "contributors": {
            "records_in": contributors["records_in"],
            "invalid": contributors["invalid"],
            "verified_profiles": contributors["verified_profiles"],
        },
        "other_landing_files": session.rows("publish/other_landing_files"),
    }


def _manifest(context, run_cut: RunCutResource, sections: dict, board, board_parameters, producers) -> dict:
    parameters = board_parameters["raw"]
    return {
        "created_at": None,  # set at write time
        "dagster_run_id": context.run.run_id,
        "code_version": provenance.code_version(),
        "data_cut": {
            "as_of": parameters["as_of"],
            "cutoff_utc": parameters["cutoff_utc"],
            "rule": "votes with voted_at before the cutoff; undated arena rows count in every snapshot",
            **parameters["votes"],
        },
        "run": {
            "dagster_run_id": context.run.run_id,
            **run_cut.cut.key(),
            "defaults": list(run_cut.cut.defaults),
            "tables_from_runs": producers,
        },
        "breakers": breaker_record(context, producers, run_cut.cut),
        "parameters": {k: v for k, v in parameters.items() if k not in ("votes", "run", "sampling_plan")},
        "sampling_plan": parameters.get("sampling_plan"),
        "boards": sorted(set(board["board"])),
        "segments": {dim: board_parameters[dim] for dim in SEGMENT_DIMENSIONS if dim in board_parameters},
        "style": board_parameters.get("style", {}),
        "registry": sections["registry"],
        "input": sections["input"],
        "integrity": {k: v for k, v in sections["integrity"].items() if k != "run"} or None,
        "contributors": sections["contributors"],
        "other_landing_files": sections["other_landing_files"],
    }


def _snapshot_metadata(board: pd.DataFrame, manifest: dict, snapshot_id: str, folder) -> dict:
    inputs = manifest["input"]
    overall = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")]
    return {
        **row_count(len(board)),
        "snapshot_id": snapshot_id,
        "path": dg.MetadataValue.path(str(folder)),
        "as_of": manifest["data_cut"]["as_of"],
        "rows_in": inputs["rows_in"],
        "valid": inputs["valid"],
        "duplicates": inputs["duplicates"],
        "quarantined": inputs["quarantined"]["total"],
        "rows_per_board": dg.MetadataValue.json(
            {f"{b}/{d}": int(n) for (b, d), n in board.groupby(["board", "segment_dim"]).size().items()}
        ),
        "top_model": str(board.iloc[0]["model_id"]) if len(board) else "",
        "preview": dg.MetadataValue.md(
            markdown_table(
                overall.head(10)[["rank", "model_id", "rating", "ci_lower", "ci_upper", "votes"]].itertuples(
                    index=False
                ),
                ("rank", "model", "rating", "95% lower", "95% upper", "votes"),
            )
        ),
        "parameters": dg.MetadataValue.json(manifest["parameters"]),
    }


@dg.asset(
    group_name="publish",
    deps=[
        *BOARD_TABLES.values(),
        *sorted(set(PARAMETER_TABLES.values())),
        "integrity_summary",
        data_state.VALIDATION_TABLE,
        "votes_counted",
        "vote_quarantine",
        "vote_duplicates",
        "votes_checked",
        "landing_files",
        "model_registry",
        "contributors_checked",
        "contributor_profiles",
        "sampling_plan",
        "votes_clean",
    ],
    pool=WAREHOUSE_POOL,
)
def leaderboard_snapshot(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    paths: ShowdownPaths,
    run_cut: RunCutResource,
) -> dg.MaterializeResult:
    """One immutable folder per run: leaderboard.parquet/json, sampling_plan.parquet, providers.parquet, manifest.json, index.html; LATEST moves last.

    One leaderboard row per (board, segment, model). Published only when every board and the counted votes
    carry this run's cut and passed their circuit breakers (or this run overrides them).
    """
    with warehouse.session() as session:
        board, board_parameters = read_boards(session)
        sections = _warehouse_sections(session, context.run.run_id)
        made = {b: (BOARD_TABLES[b], p) for b, p in board_parameters.items()}
        mixed = data_state.inconsistency(session, sections["integrity"], made)
    producers = _producers(context, run_cut, board_parameters, sections["integrity"])
    if mixed:  # the accounting and the boards would describe two states of the data
        raise dg.Failure(description=f"snapshot not published: {mixed}")
    manifest = _manifest(context, run_cut, sections, board, board_parameters, producers)
    parameters = board_parameters["raw"]
    with warehouse.session() as session:
        pairs = session.query("publish/pairwise_matrix", {"cutoff": parameters["cutoff_utc"]}).to_pandas()
        plan = session.query("publish/sampling_plan").to_pandas()
        ledger, manifest["providers"] = providers.build_ledger(
            session, paths.snapshots, parameters["cutoff_utc"], parameters["as_of"]
        )
        manifest["providers"]["pre_release"] = providers.pre_release_status(session, parameters["cutoff_utc"])
    board = providers.mark_pre_release(board, manifest["providers"]["pre_release"])
    created_at = datetime.now(UTC)
    manifest["created_at"] = created_at.isoformat().replace("+00:00", "Z")
    snapshot_id = snapshots.new_snapshot_id(parameters["as_of"], created_at, context.run.run_id)
    html = report.render_report(board, {**manifest, "snapshot_id": snapshot_id}, pairs, plan, ledger)
    folder = snapshots.write_snapshot(paths.snapshots, snapshot_id, board, manifest, html, plan, ledger)
    context.log.info(f"published snapshot {folder}")
    return dg.MaterializeResult(metadata=_snapshot_metadata(board, manifest, snapshot_id, folder))


defs = dg.Definitions(assets=[leaderboard_snapshot])
