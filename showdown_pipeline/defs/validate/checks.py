"""Blocking checks on the counted votes: nothing is rated unless these pass."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from showdown_pipeline.core.sql import run_sql
from showdown_pipeline.defs.resources import warehouse


@dg.asset_check(
    asset="votes_clean",
    blocking=True,
    description="rows_in = valid + duplicates + quarantined, for every file.",
)
def input_rows_reconcile(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with warehouse(duckdb) as conn:
        rows = run_sql(conn, "validate/input_accounting").fetchall()
        clean = conn.execute("SELECT count(*) FROM votes_clean").fetchall()[0][0]
    failing = [
        {"path": r[0], "rows_in": r[4], "valid": r[7], "duplicates": r[8], "quarantined": r[9]}
        for r in rows
        if r[4] != r[7] + r[8] + r[9]
    ]
    rows_in = sum(r[4] for r in rows)
    valid = sum(r[7] for r in rows)
    duplicates = sum(r[8] for r in rows)
    quarantined = sum(r[9] for r in rows)
    if valid != clean:
        failing.append({"path": "(all)", "valid": valid, "votes_clean": clean})
    return dg.AssetCheckResult(
        passed=not failing,
        metadata={
            "rows_in": rows_in,
            "valid": valid,
            "duplicates": duplicates,
            "quarantined": quarantined,
            "failing_count": len(failing),
            "failing_sample": dg.MetadataValue.json(failing[:10]),
        },
    )


@dg.asset_check(
    asset="votes_clean", blocking=True, description="Each vote_id and each (user_id, battle_id) counts once."
)
def no_duplicate_vote_ids(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with warehouse(duckdb) as conn:
        dup_ids = conn.execute(
            "SELECT vote_id FROM votes_clean GROUP BY vote_id HAVING count(*) > 1 LIMIT 10"
        ).fetchall()
        n_dup_ids = conn.execute(
            "SELECT count(*) FROM (SELECT vote_id FROM votes_clean GROUP BY vote_id HAVING count(*) > 1)"
        ).fetchall()[0][0]
        n_dup_pairs = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM votes_clean GROUP BY user_id, battle_id HAVING count(*) > 1)"
        ).fetchall()[0][0]
    return dg.AssetCheckResult(
        passed=n_dup_ids == 0 and n_dup_pairs == 0,
        metadata={
            "failing_count": n_dup_ids + n_dup_pairs,
            "duplicate_vote_ids": n_dup_ids,
            "duplicate_user_battles": n_dup_pairs,
            "failing_sample": dg.MetadataValue.json([r[0] for r in dup_ids]),
        },
    )


@dg.asset_check(
    asset="votes_clean",
    blocking=True,
    description="The Great Expectations 1.x suite (core/expectations.py) passes on every counted vote.",
)
def votes_clean_passes_expectations(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    from showdown_pipeline.core import expectations

    with warehouse(duckdb) as conn:
        frame = (
            conn.sql(
                "SELECT " + ", ".join(expectations.SUITE_COLUMNS) + " FROM votes_clean"  # noqa: S608 - fixed column list
            )
            .to_arrow_table()
            .to_pandas()
        )
    success, outcomes = expectations.validate_votes(frame)
    failed = [o for o in outcomes if not o.success]
    return dg.AssetCheckResult(
        passed=success,
        metadata={
            "rows": len(frame),
            "expectations": len(outcomes),
            "failing_count": sum(o.unexpected_count for o in failed) or len(failed),
            "failed_expectations": dg.MetadataValue.json(
                [
                    {
                        "expectation": o.expectation,
                        "column": o.column,
                        "unexpected": o.unexpected_count,
                        "sample": o.sample,
                    }
                    for o in failed
                ]
            ),
        },
    )
