"""Integrity: flag manipulative voters, exclude their votes (kept, with the reason), measure fragility."""

import hashlib
from dataclasses import asdict

import dagster as dg
import pandas as pd
from pydantic import Field

from showdown_pipeline.core import boards, integrity, records
from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline.defs.metadata import markdown_table, row_count
from showdown_pipeline.defs.resources import WAREHOUSE_POOL, RunCutResource, WarehouseResource

_DEFAULTS = integrity.IntegrityThresholds()


class IntegrityConfig(dg.Config):
    """Thresholds of the checks (defaults: core/integrity.py, with their measured false-positive rates)."""

    alpha: float = Field(default=_DEFAULTS.alpha, description="Family-wise error rate of each check.")
    daily_cap: int = Field(default=_DEFAULTS.daily_cap, description="Votes by one voter in one UTC day.")
    favour_z: float = Field(
        default=_DEFAULTS.favour_z, description="z-score of a (voter, model) favouritism flag."
    )
    ring_z: float = Field(default=_DEFAULTS.ring_z, description="Pooled z-score of a collusion ring.")
    fragility: bool = Field(default=True, description="Compute the fewest votes whose removal changes #1.")
    anomaly_seed: int = Field(
        default=7_919,
        description="Seed of the outcome-anomaly checkpoints; production runs set a private one (it is not published).",
    )


INTEGRITY_SPECS = [
    dg.AssetSpec(
        "user_flags",
        group_name="integrity",
        deps=["votes_clean"],
        description="One row per (voter, check) that flagged the voter: score, p-value, reason, excluded.",
    ),
    dg.AssetSpec(
        "vote_exclusions",
        group_name="integrity",
        deps=["user_flags"],
        description="One row per valid vote excluded from the boards: the check and the reason (the vote itself is kept in votes_clean).",
    ),
    dg.AssetSpec(
        "votes_counted",
        group_name="integrity",
        deps=["vote_exclusions"],
        description="One row per vote that counts on the boards: votes_clean minus vote_exclusions.",
    ),
    dg.AssetSpec(
        "vote_reviews",
        group_name="integrity",
        deps=["votes_clean"],
        description=(
            "One row per counted vote whose winner had a small expected chance under the preliminary ratings "
            "(reason 'upset'): kept for human review, never dropped."
        ),
    ),
    dg.AssetSpec(
        "integrity_summary",
        group_name="integrity",
        deps=["user_flags", "vote_exclusions", "votes_counted"],
        description=(
            "One row: the integrity run's summary (JSON): its data cut and run, thresholds, voters flagged and "
            "votes removed per check, board movement with and without the exclusions, fragility of #1. "
            "Read by overall_ratings (the cut) and the snapshot manifest."
        ),
    ),
]


@dg.multi_asset(specs=INTEGRITY_SPECS, pool=WAREHOUSE_POOL)
def integrity_checks(
    context: dg.AssetExecutionContext,
    config: IntegrityConfig,
    warehouse: WarehouseResource,
    run_cut: RunCutResource,
):
    """Run every check before rating (on votes before the run's cut); excluded voters' votes leave the counted votes."""
    t = integrity.IntegrityThresholds(
        alpha=config.alpha, daily_cap=config.daily_cap, favour_z=config.favour_z, ring_z=config.ring_z
    )
    as_of, cutoff = run_cut.cut.as_of, run_cut.cut.cutoff
    with warehouse.session() as session:
        stats = session.query(
            "integrity/user_vote_stats",
            {
                "cutoff": cutoff,
                "min_seconds": t.min_seconds,
                "max_tokens_per_second": t.max_tokens_per_second,
            },
        ).to_pandas()
        cells = session.query("integrity/clean_pair_counts", {"cutoff": cutoff}).to_pandas()
        flags = [
            integrity.too_fast(stats, t),
            integrity.inhuman_regularity(stats, t),
            integrity.daily_volume(stats, t),
            integrity.position_bias(stats, t),
            integrity.prompt_flooders(stats, t),
        ]
        preliminary = None
        upsets = pd.DataFrame(columns=["row_key", "user_id", "winner_expected"])
        if not cells.empty:
            counts = boards.pair_counts_from_frame(cells)
            groups = bt.components(counts)
            main = counts.subset(groups[0]) if len(groups) > 1 else counts
            preliminary = bt.fit_bradley_terry(main, main.models[0])
            theta = pd.DataFrame({"model_id": list(preliminary.models), "theta": preliminary.theta})
            with session.registered("integrity_theta", theta):
                scores = session.query(
                    "integrity/user_model_scores", {"cutoff": cutoff, "min_seen": 3}
                ).to_pandas()
                sweeps = session.query(
                    "integrity/user_model_sweeps", {"cutoff": cutoff, "min_seen": t.sweep_min_seen}
                ).to_pandas()
                upsets = session.query(
                    "integrity/upsets", {"cutoff": cutoff, "max_p": t.upset_max_p}
                ).to_pandas()
            surprise = session.query("integrity/vote_outcome_surprise", {"cutoff": cutoff}).to_pandas()
            shared = session.query("integrity/shared_identities", {"max_group": t.ring_max_group}).to_pandas()
            individually = [integrity.favouritism(scores, t), integrity.rings(shared, scores, t)]
            caught = set().union(*(set(f["user_id"]) for f in individually))
            flags += [
                *individually,
                integrity.coordinated_sweeps(sweeps, t, already=caught),
                integrity.disfavouring(scores, t),
                integrity.outcome_anomaly(surprise, t, config.anomaly_seed),
            ]
        user_flags = (
            pd.concat([f for f in flags if len(f)], ignore_index=True)
            if any(len(f) for f in flags)
            else integrity._frame([])
        )
        user_flags = user_flags.astype({"score": float, "p_value": float, "excluded": bool})
        session.replace_table("user_flags", user_flags)
        flood = session.query("integrity/flood_prompt_exclusions", {"cutoff": cutoff}).to_pandas()
        by_user = session.query("integrity/excluded_user_votes", {"cutoff": cutoff}).to_pandas()
        exclusions = pd.concat(
            [by_user, flood[~flood["row_key"].isin(by_user["row_key"])]], ignore_index=True
        )
        session.replace_table("vote_exclusions", exclusions)
        session.run("integrity/votes_counted")
        session.replace_table("vote_reviews", upsets.assign(reason="upset"))
        counted_cells = session.query("integrity/counted_pair_counts", {"cutoff": cutoff}).to_pandas()
        counted = session.one("integrity/counted_votes")["votes"]

    movement, fragile = [], None
    if preliminary is not None and not counted_cells.empty:
        after_counts = boards.pair_counts_from_frame(counted_cells)
        groups = bt.components(after_counts)
        after_counts = after_counts.subset(groups[0]) if len(groups) > 1 else after_counts
        anchor = (
            preliminary.models[0] if preliminary.models[0] in after_counts.models else after_counts.models[0]
        )
        after = bt.fit_bradley_terry(after_counts, anchor)
        before_c = (
            pd.Series(preliminary.theta - preliminary.theta.mean(), index=preliminary.models) * bt.ELO_SCALE
        )
        after_c = pd.Series(after.theta - after.theta.mean(), index=after.models) * bt.ELO_SCALE
        joined = pd.DataFrame({"with_exclusions": after_c, "without_exclusions": before_c}).dropna()
        joined["change"] = joined["with_exclusions"] - joined["without_exclusions"]
        joined["rank_with"] = joined["with_exclusions"].rank(ascending=False).astype(int)
        joined["rank_without"] = joined["without_exclusions"].rank(ascending=False).astype(int)
        top = joined.sort_values("rank_with").head(10)
        movers = joined.reindex(joined["change"].abs().sort_values(ascending=False).index).head(5)
        movement = [
            {
                "model_id": m,
                "rank_with": int(r.rank_with),
                "rank_without": int(r.rank_without),
                "change_elo": round(float(r.change), 2),
            }
            for m, r in pd.concat([top, movers[~movers.index.isin(top.index)]]).iterrows()
        ]
        if config.fragility and after_counts.n_models >= 2:
            fragile = integrity.fragility(after_counts, anchor)
    removed = exclusions.groupby("check_name").size().to_dict() if len(exclusions) else {}
    users_by_check = (
        user_flags.groupby("check_name")["user_id"].nunique().to_dict() if len(user_flags) else {}
    )
    summary = {
        "as_of": as_of.isoformat(),
        "run": run_cut.record(),
        "thresholds": asdict(t),
        # the checkpoints stay secret; the commitment lets an auditor who is given the seed reproduce them
        "anomaly_seed_sha256": hashlib.sha256(str(config.anomaly_seed).encode()).hexdigest(),
        "users_flagged_by_check": {k: int(v) for k, v in users_by_check.items()},
        "users_excluded": int(user_flags.loc[user_flags["excluded"], "user_id"].nunique())
        if len(user_flags)
        else 0,
        "removed_by_check": {k: int(v) for k, v in removed.items()},
        "votes_removed": int(len(exclusions)),
        "votes_counted": int(counted),
        "board_movement": movement,
        "fragility": fragile,
        "upsets_for_review": int(len(upsets)),
    }
    with warehouse.session() as session:
        records.save_integrity_summary(session, summary)
    context.log.info(
        f"integrity: {summary['users_excluded']} voters excluded, {summary['votes_removed']} votes removed"
    )
    yield dg.MaterializeResult(
        asset_key="user_flags",
        metadata={
            **row_count(len(user_flags)),
            "users_flagged_by_check": dg.MetadataValue.json(summary["users_flagged_by_check"]),
            "preview": dg.MetadataValue.md(
                markdown_table(
                    # the event log lives outside the warehouse: voters appear as a hash prefix, not their id
                    [
                        (hashlib.sha256(str(u).encode()).hexdigest()[:10], c, round(float(sc), 2), r)
                        for u, c, sc, r in user_flags.head(15)[
                            ["user_id", "check_name", "score", "reason"]
                        ].itertuples(index=False)
                    ],
                    ("voter (sha256 prefix)", "check", "score", "reason"),
                )
                if len(user_flags)
                else "(no voter flagged)"
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key="vote_exclusions",
        metadata={
            **row_count(len(exclusions)),
            "drop_reasons": dg.MetadataValue.json(summary["removed_by_check"]),
        },
    )
    yield dg.MaterializeResult(
        asset_key="votes_counted",
        metadata={
            **row_count(counted),
            "rows_out": counted,
            "fragility": dg.MetadataValue.json(fragile or {}),
            "board_movement": dg.MetadataValue.json(movement),
        },
    )
    yield dg.MaterializeResult(asset_key="vote_reviews", metadata=row_count(len(upsets)))
    yield dg.MaterializeResult(
        asset_key="integrity_summary",
        metadata={**row_count(1), "as_of": summary["as_of"], "run_id": str(summary["run"]["run_id"])},
    )


defs = dg.Definitions(assets=[integrity_checks])
