"""Publish: an immutable snapshot of the boards with its manifest and report."""

import json
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from showdown_pipeline.core import anonymity, data_state, provenance, registry, report, snapshots
from showdown_pipeline.core.boards import SEGMENT_DIMENSIONS
from showdown_pipeline.core.sql import query_arrow, run_sql
from showdown_pipeline.core.warehouse import DuckDBSession
from showdown_pipeline.defs.metadata import markdown_table, row_count
from showdown_pipeline.defs.publish.breakers import breaker_record
from showdown_pipeline.defs.ratings.assets import BOARD_TABLES, load_parameters
from showdown_pipeline.defs.resources import (
    WAREHOUSE_POOL,
    RunCutResource,
    ShowdownPaths,
    ensure_same_cut,
    warehouse,
)


def input_section(conn, run_id: str) -> dict:
    """The manifest's `input` section: every vote file of the ledger and where each of its rows ended."""
    files = query_arrow(conn, "validate/input_accounting").to_pylist()
    quarantine = dict(run_sql(conn, "publish/quarantine_by_reason").fetchall())
    duplicates = dict(run_sql(conn, "publish/duplicates_by_reason").fetchall())
    listed = []
    for f in files:
        if f["status"] == "rejected":
            status = "rejected"
        elif f["run_id"] == run_id:
            status = "ingested"
        else:
            status = "unchanged"  # ingested by an earlier run; its rows are still counted
        listed.append(
            {
                "path": f["path"],
                "sha256": f["sha256"],
                "kind": f["kind"],
                "status": status,
                "rows_in": f["rows_in"],
                "valid": f["valid"],
                "duplicates": f["duplicates"],
                "quarantined": f["quarantined"],
                "error": f["error"],
            }
        )
    return {
        "rows_in": sum(f["rows_in"] for f in files),
        "valid": sum(f["valid"] for f in files),
        "duplicates": sum(duplicates.values()),
        "duplicates_by_reason": duplicates,
        "quarantined": {"total": sum(quarantine.values()), "by_reason": quarantine},
        "files": listed,
    }


def read_boards(conn) -> tuple[pd.DataFrame, dict]:
    """Every board table that exists, stacked, and each board's parameters."""
    existing = {r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    frames, parameters = [], {}
    for board, table in BOARD_TABLES.items():
        if table in existing:
            frames.append(conn.sql(f"SELECT * FROM {table}").to_arrow_table().to_pandas())  # noqa: S608 - fixed names
            parameters[board] = load_parameters(conn, "overall" if board == "raw" else board)
    board = pd.concat([f for f in frames if len(f)], ignore_index=True) if frames else pd.DataFrame()
    board = anonymity.withhold_small_segments_of(conn, board, parameters)  # segments of < k voters
    order = {"raw": 0, "style": 1}
    dims = {d: i for i, d in enumerate(("overall", *SEGMENT_DIMENSIONS))}
    board = board.assign(_b=board["board"].map(order), _d=board["segment_dim"].map(dims))
    board = board.sort_values(  # ranks count within a component (its own scale): never interleave them
        ["_b", "_d", "segment_value", "component", "rank", "rating", "model_id"],
        ascending=[True, True, True, True, True, False, True],
        kind="stable",  # and the model id breaks ties: one order, whatever order the tables were read in
    )
    return board.drop(columns=["_b", "_d"]).reset_index(drop=True), parameters


# What a snapshot reads besides its boards: each must have been made from the ledger's current state.
READ_TABLES = (
    "votes_counted",
    "integrity_summary",
    "votes_checked",
    "vote_quarantine",
    "vote_duplicates",
    "votes_clean",
    "contributors_checked",
    "contributor_profiles",
    "model_registry",
)


def _producers(
    context: dg.AssetExecutionContext, run_cut: RunCutResource, board_parameters: dict, integrity: dict
) -> dict[str, str]:
    """Which run made each table this snapshot carries; refuses a table made under another cut."""
    recorded = {BOARD_TABLES[b]: p.get("run") for b, p in board_parameters.items()}
    recorded["votes_counted"] = integrity.get("run")
    for table, run in recorded.items():
        ensure_same_cut(context, run_cut, run, table)
    return {table: run["run_id"] for table, run in recorded.items()}


@dg.asset(
    group_name="publish",
    deps=[
        "overall_ratings",
        "style_ratings",
        *[f"{d}_ratings" for d in SEGMENT_DIMENSIONS],
        "vote_quarantine",
    ],
    pool=WAREHOUSE_POOL,
)
def leaderboard_snapshot(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, paths: ShowdownPaths, run_cut: RunCutResource
) -> dg.MaterializeResult:
    """One immutable folder per run: leaderboard.parquet/json, manifest.json, index.html; LATEST moves last.

    One leaderboard row per (board, segment, model). Published only when every board and the counted votes
    carry this run's cut and passed their circuit breakers (or this run overrides them).
    """
    with warehouse(duckdb) as conn:
        board, board_parameters = read_boards(conn)
        parameters = board_parameters["raw"]
        inputs = input_section(conn, context.run.run_id)
        records_in, invalid, profiles = run_sql(conn, "publish/contributor_accounting").fetchall()[0]
        usable, unusable = run_sql(conn, "publish/registry_summary").fetchall()[0]
        registry_section = registry.registry_state(conn).manifest_section(usable, unusable)
        integrity_rows = (
            conn.execute("SELECT summary FROM integrity_summary").fetchall()
            if "integrity_summary"
            in {r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
            else []
        )
        other_files = conn.execute(
            "SELECT path, sha256, kind, status, rows_in, error FROM landing_files "
            "WHERE kind NOT IN ('votes', 'arena') ORDER BY ingest_seq"
        ).fetchall()
        mixed = data_state.inconsistency(
            DuckDBSession(conn), [*(BOARD_TABLES[b] for b in board_parameters), *READ_TABLES]
        )
    integrity = json.loads(integrity_rows[0][0]) if integrity_rows else {}
    producers = _producers(context, run_cut, board_parameters, integrity)
    if mixed:  # the accounting and the boards would describe two states of the data
        raise dg.Failure(description=f"snapshot not published: {mixed}")
    breakers = breaker_record(context, producers, run_cut.cut)
    created_at = datetime.now(UTC)
    snapshot_id = snapshots.new_snapshot_id(parameters["as_of"], created_at, context.run.run_id)
    manifest = {
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
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
        "breakers": breakers,
        "parameters": {k: v for k, v in parameters.items() if k not in ("votes", "run")},
        "boards": sorted(set(board["board"])),
        "segments": {dim: board_parameters[dim] for dim in SEGMENT_DIMENSIONS if dim in board_parameters},
        "style": board_parameters.get("style", {}),
        "registry": registry_section,
        "input": inputs,
        "integrity": {k: v for k, v in integrity.items() if k != "run"} or None,
        "contributors": {"records_in": records_in, "invalid": invalid, "verified_profiles": profiles},
        "other_landing_files": [
            {"path": p, "sha256": s, "kind": k, "status": st, "rows_in": n, "error": e}
            for p, s, k, st, n, e in other_files
        ],
    }
    with warehouse(duckdb) as conn:
        pairs = query_arrow(conn, "publish/pairwise_matrix", {"cutoff": parameters["cutoff_utc"]}).to_pandas()
    html = report.render_report(board, {**manifest, "snapshot_id": snapshot_id}, pairs)
    folder = snapshots.write_snapshot(paths.snapshots, snapshot_id, board, manifest, html)
    context.log.info(f"published snapshot {folder}")
    return dg.MaterializeResult(
        metadata={
            **row_count(len(board)),
            "snapshot_id": snapshot_id,
            "path": dg.MetadataValue.path(str(folder)),
            "as_of": parameters["as_of"],
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
                    board[(board["board"] == "raw") & (board["segment_dim"] == "overall")]
                    .head(10)[["rank", "model_id", "rating", "ci_lower", "ci_upper", "votes"]]
                    .itertuples(index=False),
                    ("rank", "model", "rating", "95% lower", "95% upper", "votes"),
                )
            ),
            "parameters": dg.MetadataValue.json(manifest["parameters"]),
        }
    )
