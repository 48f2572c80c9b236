"""Validate and dedupe: typed tables, a quarantine with reasons, and the counted votes."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from showdown_pipeline.core import data_state, normalise, registry
from showdown_pipeline.core.sql import run_sql
from showdown_pipeline.core.warehouse import DuckDBSession
from showdown_pipeline.defs.metadata import markdown_table, row_count
from showdown_pipeline.defs.resources import WAREHOUSE_POOL, warehouse


@dg.asset(group_name="validate", deps=["raw_models"], pool=WAREHOUSE_POOL)
def model_registry(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """One row per model of the latest ingested models.csv: display name, provider, active window, problem.

    With no models.csv (public arena logs), the registry is empty and every model named in the votes
    counts as registered; the snapshot manifest says so. A models.csv rejected after a good one leaves
    the good one in force (logged, and in the manifest); one rejected with none before it stops the run.
    """
    with warehouse(duckdb) as conn:
        try:
            state = registry.registry_state(conn)
        except registry.RegistryUnavailable as exc:
            raise dg.Failure(description=str(exc)) from None  # the reason, in one line
        run_sql(conn, "validate/model_registry")
        data_state.record_from_ledger(
            DuckDBSession(conn), ["model_registry"], context.run.run_id, data_state.MODEL_KINDS
        )
        rows = conn.execute(
            "SELECT model_id, provider, released_at, deprecated_at, problem FROM model_registry ORDER BY registry_order"
        ).fetchall()
    problems = [r for r in rows if r[4] is not None]
    for rejected in state.rejected:
        context.log.warning(
            f"models.csv {rejected['path']} was rejected ({rejected['error']}); "
            f"the registry of {state.in_force['path']} stays in force"
        )
    for r in problems:
        context.log.warning(f"models.csv row for {r[0]!r} is unusable: {r[4]}")
    return dg.MaterializeResult(
        metadata={
            **row_count(len(rows)),
            "registry_present": len(rows) > 0,
            "in_force": dg.MetadataValue.json(state.in_force),
            "rejected_after_it": dg.MetadataValue.json(state.rejected),
            "unusable_rows": len(problems),
            "preview": dg.MetadataValue.md(
                markdown_table(rows[:50], ("model_id", "provider", "released_at", "deprecated_at", "problem"))
            ),
        }
    )


@dg.asset(group_name="validate", deps=["raw_contributors"], pool=WAREHOUSE_POOL)
def contributor_profiles(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """One row per verified contributor: country, age band, education, profession, languages (latest verified record)."""
    with warehouse(duckdb) as conn:
        mapping = normalise.build_contributors_checked(conn)
        run_sql(conn, "validate/contributor_profiles")
        data_state.record_from_ledger(
            DuckDBSession(conn),
            ["contributors_checked", "contributor_profiles"],
            context.run.run_id,
            data_state.CONTRIBUTOR_KINDS,
        )
        total = conn.execute("SELECT count(*) FROM contributors_checked").fetchall()[0][0]
        by_reason = dict(
            conn.execute(
                "SELECT reason, count(*) FROM contributors_checked WHERE reason IS NOT NULL GROUP BY 1 ORDER BY 1"
            ).fetchall()
        )
        profiles = conn.execute("SELECT count(*) FROM contributor_profiles").fetchall()[0][0]
        by_country = conn.execute(
            "SELECT country, count(*) FROM contributor_profiles GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
        ).fetchall()
    return dg.MaterializeResult(
        metadata={
            **row_count(profiles),
            "records_in": total,
            "records_invalid": sum(by_reason.values()),
            "drop_reasons": dg.MetadataValue.json(by_reason),
            "preview": dg.MetadataValue.md(markdown_table(by_country, ("country", "verified contributors"))),
            "invalid_values": dg.MetadataValue.md(
                markdown_table(normalise.problems(mapping), ("field", "value", "problem"))
            ),
        }
    )


VALIDATE_SPECS = [
    dg.AssetSpec(
        "votes_checked",
        group_name="validate",
        deps=["raw_votes", "model_registry"],
        description=(
            "One row per ingested vote record, typed, with every validation rule it breaks (reasons) "
            "and the first (reason; NULL when valid). Rules: sql/validate/votes_checked.sql."
        ),
    ),
    dg.AssetSpec(
        "vote_quarantine",
        group_name="validate",
        deps=["votes_checked"],
        description="One row per vote record that failed validation: source file and row, reason, every reason, the record as delivered.",
    ),
    dg.AssetSpec(
        "vote_duplicates",
        group_name="validate",
        deps=["votes_checked"],
        description=(
            "One row per valid record that does not count because another stands for it "
            "(exact_duplicate | superseded | duplicate_user_battle), with kept_row_key."
        ),
    ),
    dg.AssetSpec(
        "votes_clean",
        group_name="validate",
        deps=["votes_checked", "vote_duplicates", "contributor_profiles"],
        description="One row per counted vote: valid, deduplicated, typed, with the voter's verified demographics.",
    ),
]


@dg.multi_asset(specs=VALIDATE_SPECS, pool=WAREHOUSE_POOL)
def validated_votes(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Apply every rule of DESIGN §2 in SQL, quarantine failures, then dedupe what passed."""
    with warehouse(duckdb) as conn:
        mapping = normalise.build_votes_checked(conn)
        for name in ("vote_quarantine", "vote_duplicates", "votes_clean"):
            run_sql(conn, f"validate/{name}")
        data_state.record_from_ledger(
            DuckDBSession(conn),
            ["votes_checked", "vote_quarantine", "vote_duplicates", "votes_clean"],
            context.run.run_id,
            data_state.VOTE_KINDS,
            read=("model_registry", "contributor_profiles"),
        )
        rows_in = conn.execute("SELECT count(*) FROM votes_checked").fetchall()[0][0]
        quarantine = dict(
            conn.execute("SELECT reason, count(*) FROM vote_quarantine GROUP BY 1 ORDER BY 1").fetchall()
        )
        duplicates = dict(
            conn.execute("SELECT reason, count(*) FROM vote_duplicates GROUP BY 1 ORDER BY 1").fetchall()
        )
        clean = conn.execute("SELECT count(*) FROM votes_clean").fetchall()[0][0]
        sample = conn.execute(
            "SELECT source_path, source_row, reason, reason_detail FROM vote_quarantine LIMIT 20"
        ).fetchall()
    context.log.info(
        f"{rows_in} records: {clean} counted, {sum(duplicates.values())} duplicates, "
        f"{sum(quarantine.values())} quarantined"
    )
    yield dg.MaterializeResult(
        asset_key="votes_checked",
        metadata={**row_count(rows_in), "valid": rows_in - sum(quarantine.values())},
    )
    yield dg.MaterializeResult(
        asset_key="vote_quarantine",
        metadata={
            **row_count(sum(quarantine.values())),
            "drop_reasons": dg.MetadataValue.json(quarantine),
            "preview": dg.MetadataValue.md(markdown_table(sample, ("file", "row", "reason", "detail"))),
            "invalid_values": dg.MetadataValue.md(
                markdown_table(normalise.problems(mapping), ("field", "value", "problem"))
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key="vote_duplicates",
        metadata={
            **row_count(sum(duplicates.values())),
            "drop_reasons": dg.MetadataValue.json(duplicates),
            "preview": dg.MetadataValue.md(markdown_table(sorted(duplicates.items()), ("reason", "rows"))),
        },
    )
    yield dg.MaterializeResult(
        asset_key="votes_clean",
        metadata={
            **row_count(clean),
            "rows_in": rows_in,
            "rows_out": clean,
            "drop_reasons": dg.MetadataValue.json(
                {
                    **{f"quarantined:{k}": v for k, v in quarantine.items()},
                    **{f"duplicate:{k}": v for k, v in duplicates.items()},
                }
            ),
        },
    )
