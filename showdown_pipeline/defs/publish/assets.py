"""Publish: an immutable snapshot of the boards with its manifest and report."""

import json
from datetime import UTC, datetime

import dagster as dg
from dagster_duckdb import DuckDBResource

from showdown_pipeline.core import provenance, report, snapshots
from showdown_pipeline.core.sql import query_arrow, run_sql
from showdown_pipeline.defs.metadata import row_count
from showdown_pipeline.defs.resources import WAREHOUSE_POOL, ShowdownPaths, warehouse


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


@dg.asset(group_name="publish", deps=["overall_ratings", "vote_quarantine"], pool=WAREHOUSE_POOL)
def leaderboard_snapshot(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, paths: ShowdownPaths
) -> dg.MaterializeResult:
    """One immutable folder per run: leaderboard.parquet/json, manifest.json, index.html; LATEST moves last.

    One leaderboard row per (board, segment, model).
    """
    with warehouse(duckdb) as conn:
        board = (
            conn.sql("SELECT * FROM overall_ratings ORDER BY rank, rating DESC").to_arrow_table().to_pandas()
        )
        parameters = json.loads(
            conn.execute("SELECT parameters FROM rating_parameters WHERE board = 'overall'").fetchall()[0][0]
        )
        inputs = input_section(conn, context.run_id)
        records_in, invalid, profiles = run_sql(conn, "publish/contributor_accounting").fetchall()[0]
        usable, unusable = run_sql(conn, "publish/registry_summary").fetchall()[0]
        other_files = conn.execute(
            "SELECT path, sha256, kind, status, rows_in, error FROM landing_files "
            "WHERE kind NOT IN ('votes', 'arena') ORDER BY ingest_seq"
        ).fetchall()
    created_at = datetime.now(UTC)
    snapshot_id = snapshots.new_snapshot_id(parameters["as_of"], created_at, context.run_id)
    manifest = {
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "dagster_run_id": context.run_id,
        "code_version": provenance.code_version(),
        "data_cut": {
            "as_of": parameters["as_of"],
            "cutoff_utc": parameters["cutoff_utc"],
            "rule": "votes with voted_at before the cutoff; undated arena rows count in every snapshot",
            **parameters["votes"],
        },
        "parameters": {k: v for k, v in parameters.items() if k not in ("votes",)},
        "boards": ["raw"],
        "registry": {
            "source": "models.csv"
            if usable + unusable
            else "none: every model named in the votes counts as registered",
            "models": usable,
            "unusable_rows": unusable,
        },
        "input": inputs,
        "contributors": {"records_in": records_in, "invalid": invalid, "verified_profiles": profiles},
        "other_landing_files": [
            {"path": p, "sha256": s, "kind": k, "status": st, "rows_in": n, "error": e}
            for p, s, k, st, n, e in other_files
        ],
    }
    html = report.render_report(board, {**manifest, "snapshot_id": snapshot_id})
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
            "top_model": str(board.iloc[0]["model_id"]) if len(board) else "",
        }
    )
