"""Validate and dedupe: typed tables, a quarantine with reasons, and the counted votes."""

import dagster as dg

from showdown_pipeline.core import data_state, normalise, registry, validation
from showdown_pipeline.core.warehouse import WarehouseSession
from showdown_pipeline.defs.metadata import markdown_table, row_count
from showdown_pipeline.defs.resources import WAREHOUSE_POOL, WarehouseResource

REGISTRY_COLUMNS = ("model_id", "provider", "released_at", "deprecated_at", "pre_release", "problem")


@dg.asset(group_name="validate", deps=["raw_models"], pool=WAREHOUSE_POOL)
def model_registry(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per model of the latest ingested models.csv: display name, provider, active window, problem.

    With no models.csv (public arena logs), the registry is empty and every model named in the votes
    counts as registered; the snapshot manifest says so. A models.csv rejected after a good one leaves
    the good one in force (logged, and in the manifest); one rejected with none before it stops the run.
    """
    with warehouse.session() as session:
        try:
            state = registry.registry_state(session)
        except registry.RegistryUnavailable as exc:
            raise dg.Failure(description=str(exc)) from None  # the reason, in one line
        normalise.build_model_registry(session, state.in_force_sha256)
        rows = session.rows("validate/model_registry_rows")
    problems = [r for r in rows if r["problem"] is not None]
    for rejected in state.rejected:
        context.log.warning(
            f"models.csv {rejected['path']} was rejected ({rejected['error']}); "
            f"the registry of {state.in_force['path']} stays in force"
        )
    for r in problems:
        context.log.warning(f"models.csv row for {r['model_id']!r} is unusable: {r['problem']}")
    return dg.MaterializeResult(
        metadata={
            **row_count(len(rows)),
            "registry_present": len(rows) > 0,
            "in_force": dg.MetadataValue.json(state.in_force),
            "rejected_after_it": dg.MetadataValue.json(state.rejected),
            "unusable_rows": len(problems),
            "preview": dg.MetadataValue.md(
                markdown_table(
                    [[r[c] for c in REGISTRY_COLUMNS] for r in rows[:50]],
                    REGISTRY_COLUMNS,
                )
            ),
        }
    )


CONTRIBUTOR_SPECS = [
    dg.AssetSpec(
        "contributors_checked",
        group_name="validate",
        deps=["raw_contributors"],
        description=(
            "One row per ingested contributor record, typed and normalised, with the first rule it breaks "
            "(reason; NULL when usable). Rules: sql/validate/contributors_checked.sql."
        ),
    ),
    dg.AssetSpec(
        "contributor_profiles",
        group_name="validate",
        deps=["contributors_checked"],
        description=(
            "One row per verified contributor: country, age band, education, profession, languages "
            "(latest verified record)."
        ),
    ),
]


@dg.multi_asset(specs=CONTRIBUTOR_SPECS, pool=WAREHOUSE_POOL)
def validated_contributors(warehouse: WarehouseResource):
    """Check every contributor record, then keep each verified contributor's latest profile."""
    with warehouse.session() as session:
        mapping = normalise.build_contributors_checked(session)
        session.run("validate/contributor_profiles")
        accounting = session.one("validate/contributor_accounting")
        by_reason = {r["reason"]: r["n"] for r in session.rows("validate/contributors_invalid_by_reason")}
        by_country = [(r["country"], r["contributors"]) for r in session.rows("validate/profiles_by_country")]
    yield dg.MaterializeResult(
        asset_key="contributors_checked",
        metadata={
            **row_count(accounting["records_in"]),
            "records_invalid": accounting["invalid"],
            "drop_reasons": dg.MetadataValue.json(by_reason),
            "invalid_values": dg.MetadataValue.md(
                markdown_table(normalise.problems(mapping), ("field", "value", "problem"))
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key="contributor_profiles",
        metadata={
            **row_count(accounting["verified_profiles"]),
            "records_in": accounting["records_in"],
            "records_invalid": accounting["invalid"],
            "drop_reasons": dg.MetadataValue.json(by_reason),
            "preview": dg.MetadataValue.md(markdown_table(by_country, ("country", "verified contributors"))),
            "invalid_values": dg.MetadataValue.md(
                markdown_table(normalise.problems(mapping), ("field", "value", "problem"))
            ),
        },
    )


VALIDATE_SPECS = [
    dg.AssetSpec(
        "votes_checked",
        group_name="validate",
        deps=["raw_votes", "model_registry"],
        description=(
            "One row per ingested vote record, typed, with every validation rule it breaks (reasons) "
            "and the first (reason; NULL when valid). Rules: sql/validate/votes_checked_batch.sql; a night checks "
            "only the records of new files (core/validation.py)."
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
    dg.AssetSpec(
        "votes_validated_files",
        group_name="validate",
        deps=["raw_votes", "model_registry"],
        description=(
            "One row per vote ledger entry whose records votes_checked holds, with the fingerprint of the rules "
            "they were checked under: a night validates only the entries missing here (core/validation.py)."
        ),
    ),
    dg.AssetSpec(
        "votes_clean_unchecked",
        group_name="validate",
        deps=["votes_clean"],
        description=(
            "One row per counted vote written since the Great Expectations suite last passed (row_key): what "
            "votes_clean_passes_expectations checks next; the check empties it when the suite passes."
        ),
    ),
    dg.AssetSpec(
        data_state.VALIDATION_TABLE,
        group_name="validate",
        deps=["votes_clean", "model_registry", "contributor_profiles"],
        description=(
            "One row: the run that made the validated tables and the state of the landing ledger it read "
            "(core/data_state.py); publish refuses a snapshot whose boards were made from another state."
        ),
    ),
]


def reasons(session: WarehouseSession, statement: str) -> dict[str, int]:
    """reason -> rows, from a statement returning (reason, n)."""
    return {r["reason"]: r["n"] for r in session.rows(statement)}


@dg.multi_asset(specs=VALIDATE_SPECS, pool=WAREHOUSE_POOL)
def validated_votes(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Apply every rule of DESIGN §2 in SQL to the records of new files, quarantine failures, then bring the
    dedupe up to date for the keys they touch (core/validation.py; everything when the rules changed)."""
    with warehouse.session() as session:
        done = validation.validate_votes(session)
        mapping = done.mapping
        data_state.save_validation(session, context.run.run_id)
        counts = session.one("validate/vote_counts")
        quarantine = reasons(session, "validate/quarantine_by_reason")
        duplicates = reasons(session, "validate/duplicates_by_reason")
        sample = [
            (r["source_path"], r["source_row"], r["reason"], r["reason_detail"])
            for r in session.rows("validate/quarantine_sample")
        ]
    rows_in, clean = counts["checked"], counts["clean"]
    context.log.info(
        f"{done.mode} validation: {done.records} new records from {done.files} files, dedupe decided for "
        f"{done.decided}; {rows_in} records: {clean} counted, {sum(duplicates.values())} duplicates, "
        f"{sum(quarantine.values())} quarantined"
    )
    yield dg.MaterializeResult(
        asset_key="votes_checked",
        metadata={
            **row_count(rows_in),
            "valid": rows_in - sum(quarantine.values()),
            "mode": done.mode,
            "records_validated": done.records,
            "dedupe_decided": done.decided,
        },
    )
    yield dg.MaterializeResult(asset_key="votes_validated_files", metadata={"files_validated": done.files})
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
    yield dg.MaterializeResult(asset_key="votes_clean_unchecked")
    yield dg.MaterializeResult(
        asset_key=data_state.VALIDATION_TABLE, metadata={**row_count(1), "run_id": context.run.run_id}
    )


defs = dg.Definitions(assets=[model_registry, validated_contributors, validated_votes])
