"""Blocking checks on the counted votes: nothing is rated unless these pass."""

import dagster as dg

from showdown_pipeline.defs.resources import WarehouseResource


@dg.asset_check(
    asset="votes_clean",
    blocking=True,
    description="rows_in = valid + duplicates + quarantined, for every file.",
)
def input_rows_reconcile(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.session() as session:
        rows = session.rows("validate/input_accounting")
        clean = session.one("validate/vote_counts")["clean"]
    parts = ("rows_in", "valid", "duplicates", "quarantined")
    failing = [
        {"path": r["path"], **{k: r[k] for k in parts}}
        for r in rows
        if r["rows_in"] != r["valid"] + r["duplicates"] + r["quarantined"]
    ]
    rows_in, valid, duplicates, quarantined = (sum(r[k] for r in rows) for k in parts)
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
def no_duplicate_vote_ids(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.session() as session:
        dup_ids = [r["vote_id"] for r in session.rows("validate/duplicate_vote_id_sample")]
        counts = session.one("validate/duplicate_counts")
    n_dup_ids, n_dup_pairs = counts["duplicate_vote_ids"], counts["duplicate_user_battles"]
    return dg.AssetCheckResult(
        passed=n_dup_ids == 0 and n_dup_pairs == 0,
        metadata={
            "failing_count": n_dup_ids + n_dup_pairs,
            "duplicate_vote_ids": n_dup_ids,
            "duplicate_user_battles": n_dup_pairs,
            "failing_sample": dg.MetadataValue.json(dup_ids),
        },
    )


@dg.asset_check(
    asset="votes_clean",
    blocking=True,
    description=(
        "The Great Expectations 1.x suite (core/expectations.py) passes on every counted vote written since it "
        "last passed (votes_clean_unchecked: all of them after a full rebuild), a slice at a time."
    ),
)
def votes_clean_passes_expectations(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from showdown_pipeline.core import expectations

    with warehouse.session() as session:
        success, outcomes, rows = expectations.validate_unchecked_votes(session)
    failed = [o for o in outcomes if not o.success]
    return dg.AssetCheckResult(
        passed=success,
        metadata={
            "rows": rows,
            "expectations": len({(o.expectation, o.column) for o in outcomes}),
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


defs = dg.Definitions(
    asset_checks=[input_rows_reconcile, no_duplicate_vote_ids, votes_clean_passes_expectations]
)
